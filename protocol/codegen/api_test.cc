#include "protocol/messages/api.h"

#include <set>

#include "gtest/gtest.h"
#include "protocol/messages/all.h"

namespace ringbroker::protocol {
namespace {

TEST(ApiTest, TableCoversEveryApiOnceInKeyOrder) {
  absl::Span<const ApiInfo> apis = AllApis();
  EXPECT_EQ(apis.size(), 62u);
  std::set<int16_t> keys;
  for (size_t i = 0; i < apis.size(); ++i) {
    keys.insert(static_cast<int16_t>(apis[i].key));
    if (i > 0) {
      EXPECT_LT(apis[i - 1].key, apis[i].key);
    }
    EXPECT_LE(apis[i].min_version, apis[i].max_version);
  }
  EXPECT_EQ(keys.size(), apis.size());
  EXPECT_EQ(FindApi(0)->name, "Produce");
  EXPECT_EQ(FindApi(18)->max_version, 3);
  EXPECT_EQ(FindApi(18)->first_flexible_version, 3);
  EXPECT_EQ(FindApi(17)->first_flexible_version, -1);  // SaslHandshake is never flexible
  EXPECT_EQ(FindApi(1000), nullptr);
}

TEST(ApiTest, MessageConstantsMatchTable) {
#define RB_CHECK_API(Name, key, lo, hi)                                   \
  EXPECT_EQ(Name##Request::kApiKey, key);                                 \
  EXPECT_EQ(Name##Response::kMaxVersion, hi);                             \
  EXPECT_EQ(FindApi(key)->min_version, Name##Request::kMinVersion);       \
  EXPECT_EQ(FindApi(key)->first_flexible_version, Name##Request::kFirstFlexibleVersion);
  RINGBROKER_FOR_EACH_API(RB_CHECK_API)
#undef RB_CHECK_API
}

TEST(ApiTest, HeaderVersions) {
  EXPECT_EQ(RequestHeaderVersion(0, 8), 1);
  EXPECT_EQ(RequestHeaderVersion(0, 9), 2);
  EXPECT_EQ(ResponseHeaderVersion(0, 8), 0);
  EXPECT_EQ(ResponseHeaderVersion(0, 9), 1);
  EXPECT_EQ(RequestHeaderVersion(7, 0), 0);  // ControlledShutdown v0
  EXPECT_EQ(RequestHeaderVersion(7, 1), 1);
  EXPECT_EQ(RequestHeaderVersion(7, 3), 2);
  EXPECT_EQ(RequestHeaderVersion(18, 3), 2);
  EXPECT_EQ(ResponseHeaderVersion(18, 3), 0);  // ApiVersions responses: always v0
  EXPECT_EQ(RequestHeaderVersion(17, 1), 1);   // SaslHandshake: never flexible
  EXPECT_EQ(ResponseHeaderVersion(17, 1), 0);
  EXPECT_EQ(RequestHeaderVersion(18, 42), 2);  // beyond the max: as flexible as the max
  EXPECT_EQ(RequestHeaderVersion(999, 0), -1);
  EXPECT_EQ(ResponseHeaderVersion(999, 0), -1);
}

}  // namespace
}  // namespace ringbroker::protocol
