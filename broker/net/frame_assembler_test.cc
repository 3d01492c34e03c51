#include "broker/net/frame_assembler.h"

#include <string>

#include "gtest/gtest.h"

namespace ringbroker::net {
namespace {

std::string Framed(const std::string& body) {
  const uint32_t n = static_cast<uint32_t>(body.size());
  std::string out{char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
  return out + body;
}

std::vector<std::string> Drain(FrameAssembler& fa) {
  std::vector<std::string> frames;
  while (true) {
    auto next = fa.Next();
    EXPECT_TRUE(next.ok());
    if (!next.ok() || !next->has_value()) break;
    frames.emplace_back((*next)->view());
  }
  return frames;
}

TEST(FrameAssemblerTest, WholeFramesInOneBufferAreSharedNotCopied) {
  FrameAssembler fa(1 << 20);
  reactor::Buffer in = reactor::Buffer::CopyOf(Framed("hello") + Framed("world!"));
  const char* base = in.data();
  fa.Append(std::move(in));
  auto first = fa.Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->view(), "hello");
  EXPECT_EQ((*first)->data(), base + 4);
  EXPECT_EQ(Drain(fa), std::vector<std::string>{"world!"});
  EXPECT_EQ(fa.buffered_bytes(), 0u);
}

TEST(FrameAssemblerTest, EveryByteSplitReassembles) {
  const std::string stream = Framed("abc") + Framed("") + Framed(std::string(300, 'x')) + Framed("z");
  for (size_t split = 1; split < stream.size(); ++split) {
    FrameAssembler fa(1 << 20);
    std::vector<std::string> frames;
    for (size_t pos = 0; pos < stream.size(); pos += split) {
      fa.Append(reactor::Buffer::CopyOf(stream.substr(pos, split)));
      for (auto& f : Drain(fa)) frames.push_back(f);
    }
    ASSERT_EQ(frames.size(), 4u) << split;
    EXPECT_EQ(frames[0], "abc");
    EXPECT_EQ(frames[1], "");
    EXPECT_EQ(frames[2], std::string(300, 'x'));
    EXPECT_EQ(frames[3], "z");
  }
}

TEST(FrameAssemblerTest, OversizedOrNegativeSizePoisons) {
  for (std::string prefix : {std::string("\x7f\xff\xff\xf0", 4), std::string("\xff\xff\xff\xfb", 4),
                             std::string("\x00\x00\x04\x01", 4)}) {
    FrameAssembler fa(1024);
    fa.Append(reactor::Buffer::CopyOf(prefix + "junk"));
    EXPECT_FALSE(fa.Next().ok());
    EXPECT_FALSE(fa.Next().ok());
    EXPECT_EQ(fa.buffered_bytes(), 0u);
  }
}

TEST(FrameAssemblerTest, PartialFrameWaits) {
  FrameAssembler fa(1024);
  fa.Append(reactor::Buffer::CopyOf(std::string("\x00\x00\x00\x0a", 4) + "12345"));
  auto next = fa.Next();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  fa.Append(reactor::Buffer::CopyOf("67890"));
  EXPECT_EQ(Drain(fa), std::vector<std::string>{"1234567890"});
}

}  // namespace
}  // namespace ringbroker::net
