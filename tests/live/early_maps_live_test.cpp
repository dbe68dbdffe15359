// Live tier: EarlyMaps creates the tracer's big maps on another thread and hands them to the
// opened object before its load; a map the caller changed after the early creation is left to
// libbpf (created at load, as it was defined then).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "inotrace_bpf.skel.h"
#include "loader/early_maps.h"
#include "support/live_support.h"

namespace inotrace::testing {
namespace {

bpf_map_info info_of(int fd) {
  bpf_map_info info{};
  __u32 len = sizeof(info);
  EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
  return info;
}

TEST(EarlyMapsLive, HandsOverTheMapsWhoseDefinitionIsUnchanged) {
  INOTRACE_REQUIRE_ROOT();
  size_t size = 0;
  const void* elf = inotrace_bpf__elf_bytes(&size);
  EarlyMaps early(elf, size, {{"group_seqs"}, {"pending"}, {"no_such_map"}, {"events", 1u << 20}});
  inotrace_bpf* skel = inotrace_bpf__open();
  ASSERT_NE(skel, nullptr);
  EXPECT_LT(bpf_map__fd(skel->maps.group_seqs), 0) << "an opened object has no maps yet";
  bpf_map__set_max_entries(skel->maps.events, 1u << 20);  // as the tracer sizes it
  EXPECT_EQ(early.hand_to(skel->obj), 3u);
  bpf_map_info events = info_of(bpf_map__fd(skel->maps.events));
  EXPECT_EQ(events.type, (__u32)BPF_MAP_TYPE_RINGBUF);
  EXPECT_EQ(events.max_entries, 1u << 20);
  bpf_map_info seqs = info_of(bpf_map__fd(skel->maps.group_seqs));
  EXPECT_EQ(seqs.type, (__u32)BPF_MAP_TYPE_LRU_HASH);
  EXPECT_EQ(seqs.max_entries, bpf_map__max_entries(skel->maps.group_seqs));
  EXPECT_EQ(info_of(bpf_map__fd(skel->maps.pending)).value_size, bpf_map__value_size(skel->maps.pending));
  inotrace_bpf__destroy(skel);
}

TEST(EarlyMapsLive, LeavesAMapResizedAfterwardsToLibbpf) {
  INOTRACE_REQUIRE_ROOT();
  size_t size = 0;
  const void* elf = inotrace_bpf__elf_bytes(&size);
  EarlyMaps early(elf, size, {{"group_seqs"}, {"pending"}, {"events", 1u << 20}});
  inotrace_bpf* skel = inotrace_bpf__open();
  ASSERT_NE(skel, nullptr);
  bpf_map__set_max_entries(skel->maps.pending, 1024);
  bpf_map__set_max_entries(skel->maps.events, 1u << 21);  // not the size it was created with
  EXPECT_EQ(early.hand_to(skel->obj), 1u);
  EXPECT_GE(bpf_map__fd(skel->maps.group_seqs), 0);
  EXPECT_LT(bpf_map__fd(skel->maps.pending), 0) << "resized: libbpf creates it at load";
  EXPECT_LT(bpf_map__fd(skel->maps.events), 0) << "resized: libbpf creates it at load";
  inotrace_bpf__destroy(skel);
}

// A shape given up front is begun before the object is read; the object's own definition
// still decides at the hand-over: a stale one is left to libbpf.
TEST(EarlyMapsLive, AKnownShapeIsHandedOverOnlyWhenItIsTheObjects) {
  INOTRACE_REQUIRE_ROOT();
  size_t size = 0;
  const void* elf = inotrace_bpf__elf_bytes(&size);
  EarlyMaps::Shape right{BPF_MAP_TYPE_LRU_HASH, 8, sizeof(inotrace_group_info), INOTRACE_GROUP_SEQS_ENTRIES, 0};
  EarlyMaps::Shape stale = right;
  stale.max_entries /= 2;
  for (auto [shape, given] : {std::pair{right, 1u}, std::pair{stale, 0u}}) {
    EarlyMaps early(elf, size, {{"group_seqs", 0, shape}});
    inotrace_bpf* skel = inotrace_bpf__open();
    ASSERT_NE(skel, nullptr);
    EXPECT_EQ(early.hand_to(skel->obj), given);
    EXPECT_EQ(bpf_map__fd(skel->maps.group_seqs) >= 0, given == 1u);
    inotrace_bpf__destroy(skel);
  }
}

}  // namespace
}  // namespace inotrace::testing
