#include "broker/config/broker_config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ringbroker::config {
namespace {

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Joins continuation lines and drops comments, yielding logical lines.
std::vector<std::string> LogicalLines(std::string_view text) {
  std::vector<std::string> lines;
  std::string current;
  bool continuing = false;
  for (absl::string_view raw : absl::StrSplit(AbslView(text), '\n')) {
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (!continuing && (line.empty() || line[0] == '#' || line[0] == '!')) continue;
    // An odd number of trailing backslashes continues the line.
    size_t slashes = 0;
    while (slashes < line.size() && line[line.size() - 1 - slashes] == '\\') ++slashes;
    const bool continues = slashes % 2 == 1;
    if (continues) line.remove_suffix(1);
    current.append(line.data(), line.size());
    continuing = continues;
    if (!continuing) {
      lines.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) lines.push_back(std::move(current));
  return lines;
}

std::string Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    char c = s[++i];
    switch (c) {
      case 't': out.push_back('\t'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 'f': out.push_back('\f'); break;
      default: out.push_back(c); break;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseProperties(std::string_view text) {
  std::map<std::string, std::string> props;
  for (const std::string& line : LogicalLines(text)) {
    size_t sep = std::string::npos;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\') {
        ++i;
        continue;
      }
      if (line[i] == '=' || line[i] == ':' || line[i] == ' ' || line[i] == '\t') {
        sep = i;
        break;
      }
    }
    absl::string_view key = sep == std::string::npos ? absl::string_view(line) : absl::string_view(line).substr(0, sep);
    absl::string_view value;
    if (sep != std::string::npos) {
      value = absl::StripLeadingAsciiWhitespace(absl::string_view(line).substr(sep + 1));
      // `key = value`: whitespace before the separator is allowed.
      if (line[sep] == ' ' || line[sep] == '\t') {
        if (!value.empty() && (value[0] == '=' || value[0] == ':')) {
          value = absl::StripLeadingAsciiWhitespace(value.substr(1));
        }
      }
    }
    props[Unescape(absl::StripTrailingAsciiWhitespace(key))] = Unescape(value);
  }
  return props;
}

absl::StatusOr<std::vector<Endpoint>> ParseListeners(std::string_view text) {
  std::vector<Endpoint> endpoints;
  for (absl::string_view item : absl::StrSplit(AbslView(text), ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    const size_t scheme_end = item.find("://");
    if (scheme_end == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("listener '", item, "' is not of the form NAME://host:port"));
    }
    Endpoint ep;
    ep.listener_name = std::string(item.substr(0, scheme_end));
    absl::string_view hostport = item.substr(scheme_end + 3);
    const size_t colon = hostport.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("listener '", item, "' has no port"));
    }
    absl::string_view host = hostport.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    ep.host = std::string(host);
    if (ep.host == "0.0.0.0") ep.host.clear();
    if (!absl::SimpleAtoi(hostport.substr(colon + 1), &ep.port) || ep.port < 0 || ep.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("listener '", item, "' has a bad port"));
    }
    endpoints.push_back(std::move(ep));
  }
  if (endpoints.empty()) return absl::InvalidArgumentError("no listener given");
  return endpoints;
}

absl::StatusOr<BrokerConfig> BrokerConfig::FromText(std::string_view properties,
                                                    const std::vector<std::string>& overrides) {
  absl::StatusOr<std::map<std::string, std::string>> props = ParseProperties(properties);
  if (!props.ok()) return props.status();
  for (const std::string& o : overrides) {
    const size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("override '", o, "' is not key=value"));
    }
    (*props)[o.substr(0, eq)] = o.substr(eq + 1);
  }
  BrokerConfig config;
  for (auto& [key, value] : *props) {
    const ConfigDef* def = FindBrokerConfig(key);
    if (def == nullptr) {
      config.warnings_.push_back(absl::StrCat("unknown configuration '", key, "' ignored"));
    } else {
      if (absl::Status s = ValidateValue(*def, value); !s.ok()) return s;
      if (!def->used) {
        config.warnings_.push_back(absl::StrCat("configuration '", key, "' is accepted but has no effect here"));
      }
    }
    config.explicit_[key] = std::string(absl::StripAsciiWhitespace(value));
  }
  absl::StatusOr<std::vector<Endpoint>> listeners = ParseListeners(config.Get("listeners"));
  if (!listeners.ok()) return listeners.status();
  config.listeners_ = *std::move(listeners);
  if (config.Get("advertised.listeners").empty()) {
    config.advertised_ = config.listeners_;
  } else {
    absl::StatusOr<std::vector<Endpoint>> advertised = ParseListeners(config.Get("advertised.listeners"));
    if (!advertised.ok()) return advertised.status();
    config.advertised_ = *std::move(advertised);
  }
  for (Endpoint& ep : config.advertised_) {
    // Clients cannot connect to "all interfaces"; Kafka advertises the canonical host name there.
    if (ep.host.empty()) ep.host = "127.0.0.1";
  }
  return config;
}

absl::StatusOr<BrokerConfig> BrokerConfig::FromFile(const std::string& path,
                                                    const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read configuration file ", path));
  std::stringstream text;
  text << in.rdbuf();
  return FromText(text.str(), overrides);
}

std::string BrokerConfig::Get(std::string_view key) const {
  if (auto it = explicit_.find(std::string(key)); it != explicit_.end()) return it->second;
  const ConfigDef* def = FindBrokerConfig(key);
  if (def == nullptr || !def->default_value) return "";
  return std::string(*def->default_value);
}

int64_t BrokerConfig::GetLong(std::string_view key) const {
  int64_t n = 0;
  (void)absl::SimpleAtoi(Get(key), &n);  // validated at load
  return n;
}

bool BrokerConfig::GetBool(std::string_view key) const { return absl::EqualsIgnoreCase(Get(key), "true"); }

double BrokerConfig::GetDouble(std::string_view key) const {
  double d = 0;
  (void)absl::SimpleAtod(Get(key), &d);
  return d;
}

std::string BrokerConfig::log_dir() const {
  std::string dirs = Get("log.dirs");
  if (dirs.empty()) dirs = Get("log.dir");
  std::vector<std::string> parts = absl::StrSplit(dirs, ',', absl::SkipWhitespace());
  return parts.empty() ? dirs : std::string(absl::StripAsciiWhitespace(parts.front()));
}

int64_t BrokerConfig::log_retention_ms() const {
  if (!Get("log.retention.ms").empty()) return GetLong("log.retention.ms");
  if (!Get("log.retention.minutes").empty()) return GetLong("log.retention.minutes") * 60 * 1000;
  return GetLong("log.retention.hours") * 60 * 60 * 1000;
}

int64_t BrokerConfig::log_roll_ms() const {
  if (!Get("log.roll.ms").empty()) return GetLong("log.roll.ms");
  return GetLong("log.roll.hours") * 60 * 60 * 1000;
}

std::string BrokerConfig::TopicDefault(const ConfigDef& topic_def) const {
  if (topic_def.broker_synonym == "log.retention.ms") return std::to_string(log_retention_ms());
  if (topic_def.broker_synonym == "log.roll.ms") return std::to_string(log_roll_ms());
  if (!topic_def.broker_synonym.empty()) {
    const std::string key(topic_def.broker_synonym);
    if (explicit_.contains(key)) return explicit_.at(key);
  }
  return topic_def.default_value ? std::string(*topic_def.default_value) : "";
}

}  // namespace ringbroker::config
