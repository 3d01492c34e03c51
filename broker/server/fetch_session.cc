#include "broker/server/fetch_session.h"

namespace ringbroker::server {

FetchSession& FetchSessionCache::Create() {
  if (sessions_.size() >= kSessionsMax) {
    sessions_.erase(lru_.back().id);
    lru_.pop_back();
  }
  // Ids carry the shard in their low bits so that sessions of different shards never collide in
  // logs, and never 0 (which means "no session").
  int32_t id;
  do {
    id = static_cast<int32_t>(((static_cast<uint32_t>(next_id_++) << 8) | (shard_id_ & 0xff)) & 0x7fffffff);
  } while (id == 0 || sessions_.contains(id));
  lru_.push_front(FetchSession{.id = id, .epoch = 1});
  sessions_[id] = lru_.begin();
  return lru_.front();
}

FetchSession* FetchSessionCache::Find(int32_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &*it->second;
}

void FetchSessionCache::Remove(int32_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  lru_.erase(it->second);
  sessions_.erase(it);
}

}  // namespace ringbroker::server
