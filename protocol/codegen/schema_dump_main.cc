// kafka-schema-dump: prints the generated codec's wire layout as JSON, in the shape of Kafka's
// own message specs, so ../shared/tools/check-protocol-schema can diff the two:
//
//   kafka-schema-dump | check-protocol-schema -
//
// The data comes from the layout table gen.py compiles into the codec (layout.h), not from
// any JSON file, so it shows what the codec actually implements.
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "protocol/codegen/layout.h"

namespace ringbroker::protocol {
namespace {

std::string Range(VersionRange r) {
  if (r.empty()) return "none";
  if (r.hi == kVersionOpen) return absl::StrCat(r.lo, "+");
  if (r.lo == r.hi) return absl::StrCat(r.lo);
  return absl::StrCat(r.lo, "-", r.hi);
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, "\\u00", c < 0x10 ? "0" : "", absl::Hex(c));
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

void AppendFields(std::string& out, absl::Span<const FieldLayout> fields, int depth) {
  const std::string pad(2 * depth, ' ');
  out += "[";
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldLayout& f = fields[i];
    absl::StrAppend(&out, i ? ",\n" : "\n", pad, "  {\"name\": ", Quote(f.name),
                    ", \"type\": ", Quote(f.type), ", \"versions\": ", Quote(Range(f.versions)));
    if (!f.nullable_versions.empty()) {
      absl::StrAppend(&out, ", \"nullableVersions\": ", Quote(Range(f.nullable_versions)));
    }
    if (f.tag >= 0) {
      absl::StrAppend(&out, ", \"tag\": ", f.tag, ", \"taggedVersions\": ",
                      Quote(Range(f.tagged_versions)));
    }
    if (f.has_flexible_override) {
      absl::StrAppend(&out, ", \"flexibleVersions\": ", Quote(Range(f.flexible_versions)));
    }
    if (f.ignorable) out += ", \"ignorable\": true";
    if (!f.default_value.empty()) absl::StrAppend(&out, ", \"default\": ", Quote(f.default_value));
    if (!f.fields.empty()) {
      out += ", \"fields\": ";
      AppendFields(out, f.fields, depth + 2);
    }
    out += "}";
  }
  absl::StrAppend(&out, "\n", pad, "]");
}

}  // namespace
}  // namespace ringbroker::protocol

int main() {
  using namespace ringbroker::protocol;
  std::string out = "[";
  bool first = true;
  for (const MessageLayout& m : AllMessageLayouts()) {
    absl::StrAppend(&out, first ? "\n" : ",\n", "  {\"name\": ", Quote(m.name),
                    ", \"type\": ", Quote(m.kind));
    first = false;
    if (m.api_key >= 0) absl::StrAppend(&out, ", \"apiKey\": ", m.api_key);
    absl::StrAppend(&out, ", \"validVersions\": ", Quote(Range(m.valid_versions)),
                    ", \"flexibleVersions\": ", Quote(Range(m.flexible_versions)),
                    ",\n   \"fields\": ");
    AppendFields(out, m.fields, 2);
    out += "}";
  }
  out += "\n]\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
