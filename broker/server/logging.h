// Minimal line logging to stderr: `RB_LOG(INFO) << "text"`. Each line is written with one write(2),
// so lines from different shards do not interleave. (Debian 12's abseil predates absl/log.)
#pragma once

#include <sstream>
#include <string_view>

namespace ringbroker::server {

enum class LogLevel { kInfo, kWarning, kError };

class LogLine {
 public:
  LogLine(LogLevel level, std::string_view file, int line);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  std::ostream& stream() { return out_; }

 private:
  std::ostringstream out_;
};

}  // namespace ringbroker::server

#define RB_LOG_LEVEL_INFO ::ringbroker::server::LogLevel::kInfo
#define RB_LOG_LEVEL_WARNING ::ringbroker::server::LogLevel::kWarning
#define RB_LOG_LEVEL_ERROR ::ringbroker::server::LogLevel::kError
#define RB_LOG(level) ::ringbroker::server::LogLine(RB_LOG_LEVEL_##level, __FILE__, __LINE__).stream()
