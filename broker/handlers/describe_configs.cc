// DescribeConfigs: the configs of topics (every topic key, with the value in force and where it
// comes from) and of this broker (every broker key from server.properties or Kafka's defaults).
// Read-only and synchronous: it reads the metadata snapshot and the broker's configuration.
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "broker/handlers/registry.h"
#include "broker/server/topic_admin_util.h"
#include "coordination/metadata_store.h"
#include "protocol/messages/describe_configs.h"

namespace ringbroker::handlers {
namespace {

using Result = protocol::DescribeConfigsResponse::DescribeConfigsResult;
using Resource = protocol::DescribeConfigsRequest::DescribeConfigsResource;

// Kafka's ConfigResource.Type numbers.
constexpr int8_t kResourceTopic = 2;
constexpr int8_t kResourceBroker = 4;

// Null and empty key lists both mean every key, as in Kafka.
bool Wanted(const Resource& resource, std::string_view name) {
  if (!resource.configuration_keys.has_value() || resource.configuration_keys->empty()) return true;
  for (std::string_view key : *resource.configuration_keys) {
    if (key == name) return true;
  }
  return false;
}

void Fail(RequestContext& ctx, Result& out, ErrorCode code, std::string message) {
  out.error_code = ToWire(code);
  out.error_message = ctx.Keep(std::move(message));
}

void FillConfigs(RequestContext& ctx, const Resource& resource, const std::vector<server::DescribedConfig>& configs,
                 bool read_only, bool include_synonyms, Result& out) {
  const int16_t version = ctx.version();
  for (const server::DescribedConfig& c : configs) {
    if (!Wanted(resource, c.def->name)) continue;
    auto& entry = out.configs.emplace_back();
    entry.name = c.def->name;  // static storage
    entry.value = c.value ? std::optional<std::string_view>(ctx.Keep(*c.value)) : std::nullopt;
    entry.read_only = read_only;
    entry.config_source = static_cast<int8_t>(c.source);
    // v0 has no source: "default" there means not set on the resource itself.
    entry.is_default = resource.resource_type == kResourceTopic
                           ? c.source != server::ConfigSource::kDynamicTopicConfig
                           : c.source == server::ConfigSource::kDefaultConfig;
    entry.is_sensitive = c.def->sensitive;
    entry.config_type = static_cast<int8_t>(c.def->type);
    entry.documentation = std::nullopt;  // Ringbroker carries no documentation strings
    if (include_synonyms && version >= 1) {
      for (const server::ConfigSynonym& s : c.synonyms) {
        auto& syn = entry.synonyms.emplace_back();
        syn.name = ctx.Keep(s.name);
        syn.value = s.value ? std::optional<std::string_view>(ctx.Keep(*s.value)) : std::nullopt;
        syn.source = static_cast<int8_t>(s.source);
      }
    }
  }
}

}  // namespace

void HandleDescribeConfigs(RequestPtr ctx, Responder responder) {
  protocol::DescribeConfigsRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  const config::BrokerConfig& config = *ctx->broker.config;
  coordination::ClusterSnapshot snapshot = ctx->broker.metadata->Snapshot();

  protocol::DescribeConfigsResponse response;
  response.results.reserve(request.resources.size());
  for (const Resource& resource : request.resources) {
    Result& out = response.results.emplace_back();
    out.resource_type = resource.resource_type;
    out.resource_name = resource.resource_name;  // views the request frame, kept by ctx
    out.error_message = std::nullopt;
    const std::string name(resource.resource_name);
    switch (resource.resource_type) {
      case kResourceTopic: {
        if (absl::Status valid = coordination::ValidateTopicName(name); !valid.ok()) {
          Fail(*ctx, out, ErrorCode::kInvalidTopicException, std::string(valid.message()));
          break;
        }
        const coordination::pb::Topic* topic = coordination::FindTopic(*snapshot, name);
        if (topic == nullptr) {
          Fail(*ctx, out, ErrorCode::kUnknownTopicOrPartition, absl::StrCat("Topic '", name, "' does not exist."));
          break;
        }
        FillConfigs(*ctx, resource, server::DescribeTopicConfigs(config, server::ExplicitConfigs(*topic)),
                    /*read_only=*/false, request.include_synonyms, out);
        break;
      }
      case kResourceBroker: {
        // The empty name stands for the cluster-wide dynamic defaults, of which this broker has none.
        if (name.empty()) break;
        int32_t id = 0;
        if (!absl::SimpleAtoi(name, &id)) {
          Fail(*ctx, out, ErrorCode::kInvalidRequest, absl::StrCat("Broker id must be an integer, but it is: ", name));
          break;
        }
        if (id != config.broker_id()) {
          Fail(*ctx, out, ErrorCode::kInvalidRequest,
               absl::StrCat("Unexpected broker id, expected ", config.broker_id(), " or empty string, but received ",
                            name));
          break;
        }
        // No broker config can be changed while running (there is no AlterConfigs): all read-only.
        FillConfigs(*ctx, resource, server::DescribeBrokerConfigs(config), /*read_only=*/true,
                    request.include_synonyms, out);
        break;
      }
      default:
        Fail(*ctx, out, ErrorCode::kInvalidRequest,
             absl::StrCat("Unsupported resource type ", static_cast<int>(resource.resource_type)));
        break;
    }
  }
  Respond(*ctx, responder, response);
}

}  // namespace ringbroker::handlers
