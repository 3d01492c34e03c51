#include "broker/group/group.h"

#include <algorithm>
#include <utility>

namespace ringbroker::group {

std::string_view GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kEmpty: return "Empty";
    case GroupState::kPreparingRebalance: return "PreparingRebalance";
    case GroupState::kCompletingRebalance: return "CompletingRebalance";
    case GroupState::kStable: return "Stable";
    case GroupState::kDead: return "Dead";
  }
  return "Dead";
}

void Member::FailParked(ErrorCode error) {
  if (awaiting_join) {
    JoinResult r;
    r.error = error;
    r.member_id = id;
    std::exchange(awaiting_join, nullptr)(std::move(r));
  }
  if (awaiting_sync) {
    SyncResult r;
    r.error = error;
    std::exchange(awaiting_sync, nullptr)(std::move(r));
  }
}

std::string Member::MetadataFor(std::string_view protocol) const {
  for (const auto& [name, metadata] : protocols) {
    if (name == protocol) return metadata;
  }
  return {};
}

bool Group::AllMembersJoined() const {
  if (!pending_members.empty()) return false;
  for (const auto& [id, m] : members) {
    if (!m.awaiting_join) return false;
  }
  return true;
}

bool Group::SupportsProtocols(std::string_view type, const ProtocolList& protocols) const {
  if (members.empty()) return !type.empty() && !protocols.empty();
  if (type != protocol_type) return false;
  for (const auto& [name, metadata] : protocols) {
    bool everyone = true;
    for (const auto& [id, m] : members) {
      if (std::none_of(m.protocols.begin(), m.protocols.end(), [&](const auto& p) { return p.first == name; })) {
        everyone = false;
        break;
      }
    }
    if (everyone) return true;
  }
  return false;
}

std::optional<std::string> Group::SelectProtocol() const {
  if (members.empty()) return std::nullopt;
  // Candidates in the order of the first member (the leader's when it is still here).
  auto first = members.find(leader_id);
  const Member& reference = first != members.end() ? first->second : members.begin()->second;
  std::vector<std::string> candidates;
  for (const auto& [name, metadata] : reference.protocols) {
    bool everyone = true;
    for (const auto& [id, m] : members) {
      if (std::none_of(m.protocols.begin(), m.protocols.end(), [&](const auto& p) { return p.first == name; })) {
        everyone = false;
        break;
      }
    }
    if (everyone) candidates.push_back(name);
  }
  if (candidates.empty()) return std::nullopt;
  std::vector<int> votes(candidates.size(), 0);
  for (const auto& [id, m] : members) {
    for (const auto& [name, metadata] : m.protocols) {
      auto it = std::find(candidates.begin(), candidates.end(), name);
      if (it != candidates.end()) {
        ++votes[it - candidates.begin()];
        break;
      }
    }
  }
  const size_t best = std::max_element(votes.begin(), votes.end()) - votes.begin();
  return candidates[best];
}

int32_t Group::MaxRebalanceTimeoutMs() const {
  int32_t timeout = 0;
  for (const auto& [id, m] : members) timeout = std::max(timeout, m.rebalance_timeout_ms);
  return timeout;
}

}  // namespace ringbroker::group
