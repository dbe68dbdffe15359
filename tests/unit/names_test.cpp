#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/sysmacros.h>

#include "events/names.h"

namespace inotrace {
namespace {

TEST(MaskNames, NamesBitsInOrder) {
  EXPECT_EQ(mask_names(IN_MODIFY | IN_CREATE), (std::vector<std::string>{"IN_MODIFY", "IN_CREATE"}));
  EXPECT_EQ(mask_string(IN_ONESHOT | IN_EXCL_UNLINK | IN_ACCESS), "IN_ACCESS|IN_EXCL_UNLINK|IN_ONESHOT");
  EXPECT_EQ(mask_string(0), "0");
}

TEST(MaskNames, UnknownBitsAreShownAsHex) {
  EXPECT_EQ(mask_names(0x00100000 | IN_OPEN), (std::vector<std::string>{"IN_OPEN", "0x100000"}));
}

TEST(MaskNames, MaskCreateAndMaskAdd) {
  EXPECT_EQ(mask_string(0x10000000 | IN_MASK_ADD), "IN_MASK_CREATE|IN_MASK_ADD");
}

TEST(MaskNames, ParseRoundTrips) {
  EXPECT_EQ(parse_mask("IN_MODIFY|IN_CREATE"), (uint32_t)(IN_MODIFY | IN_CREATE));
  EXPECT_EQ(parse_mask("IN_ALL_EVENTS"), (uint32_t)IN_ALL_EVENTS);
  EXPECT_EQ(parse_mask("0x2|IN_ATTRIB"), (uint32_t)(IN_MODIFY | IN_ATTRIB));
  EXPECT_EQ(parse_mask("IN_BOGUS"), std::nullopt);
  EXPECT_EQ(parse_mask("0xzz"), std::nullopt);
}

TEST(ErrnoNames, KnownAndUnknown) {
  EXPECT_EQ(errno_name(ENOSPC), "ENOSPC");
  EXPECT_EQ(errno_name(EMFILE), "EMFILE");
  EXPECT_EQ(errno_name(EEXIST), "EEXIST");
  EXPECT_EQ(errno_name(4242), "E4242");
}

TEST(InitFlags, Names) {
  EXPECT_EQ(init_flags_string(IN_NONBLOCK | IN_CLOEXEC), "IN_NONBLOCK|IN_CLOEXEC");
  EXPECT_EQ(init_flags_string(0), "0");
}

TEST(EventNames, TypesAndReasons) {
  EXPECT_EQ(event_type_name(EventType::AddFailed), "add_failed");
  EXPECT_EQ(event_type_name(EventType::InstanceDestroy), "instance_destroy");
  EXPECT_EQ(reason_name(Reason::InodeDeleted), "inode_deleted");
  EXPECT_EQ(reason_name(Reason::InstanceClosed), "instance_closed");
}

TEST(KernelDevTest, FromStDevMatchesKernelEncoding) {
  // st_dev 0xfe00 (254:0) is sdev fe00000 in fdinfo.
  EXPECT_EQ(KernelDev::from_st_dev(0xfe00).raw, 0xfe00000u);
  EXPECT_EQ(KernelDev::from_st_dev(0xfe00).str(), "254:0");
  // minor > 255: glibc puts the high minor bits at 12..31.
  uint64_t st = makedev(259, 300);
  EXPECT_EQ(KernelDev::from_st_dev(st).major(), 259u);
  EXPECT_EQ(KernelDev::from_st_dev(st).minor(), 300u);
}

TEST(KernelDevTest, TextIsMajorColonMinorUpToTheLargestNumbers) {
  EXPECT_EQ(KernelDev{0}.str(), "0:0");
  EXPECT_EQ(KernelDev{(8u << 20) | 3}.str(), "8:3");
  EXPECT_EQ(KernelDev{0xffffffffu}.str(), "4095:1048575");  // 12-bit major, 20-bit minor
  EXPECT_EQ(std::string(KernelDev{0xffffffffu}.text()), "4095:1048575");
  // The kept text of the last device never answers for another.
  for (uint32_t raw : {0u, (8u << 20) | 3, (8u << 20) | 3, 0u, 0xffffffffu, (8u << 20) | 3})
    EXPECT_EQ(std::string(KernelDev{raw}.text()), fmt::format("{}:{}", raw >> 20, raw & 0xfffff));
}

}  // namespace
}  // namespace inotrace
