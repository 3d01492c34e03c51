#include "broker/server/logging.h"

#include <unistd.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ringbroker::server {

LogLine::LogLine(LogLevel level, std::string_view file, int line) {
  const char* tag = level == LogLevel::kInfo ? "INFO" : level == LogLevel::kWarning ? "WARN" : "ERROR";
  const size_t slash = file.rfind('/');
  if (slash != std::string_view::npos) file.remove_prefix(slash + 1);
  out_ << absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::Now(), absl::UTCTimeZone()) << " " << tag << " " << file
       << ":" << line << "] ";
}

LogLine::~LogLine() {
  out_ << '\n';
  const std::string text = out_.str();
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

}  // namespace ringbroker::server
