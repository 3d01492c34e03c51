// Completion: the target of an io_uring submission. The shard puts a Completion's address in the
// SQE's user_data and calls OnComplete for each CQE carrying it (several for multishot requests:
// `flags` has IORING_CQE_F_MORE on all but the last).
//
// The object must stay alive until its last CQE has been delivered; OnComplete of that last CQE may
// delete it. Runs on the shard thread.
#pragma once

#include <cstdint>

namespace ringbroker::reactor {

class Completion {
 public:
  virtual void OnComplete(int32_t result, uint32_t flags) = 0;

 protected:
  ~Completion() = default;
};

}  // namespace ringbroker::reactor
