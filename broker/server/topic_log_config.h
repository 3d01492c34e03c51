// The storage settings of a topic's logs: the topic's explicit configs over the broker's defaults,
// key by key, as Kafka resolves them.
#pragma once

#include <map>
#include <string>

#include "broker/config/broker_config.h"
#include "storage/log_config.h"

namespace ringbroker::server {

// The value in force for every topic key (explicit, else the broker's default), by Kafka name.
std::map<std::string, std::string> EffectiveTopicConfigs(const config::BrokerConfig& broker,
                                                         const std::map<std::string, std::string>& explicit_configs);

storage::LogConfig ToLogConfig(const std::map<std::string, std::string>& effective);

}  // namespace ringbroker::server
