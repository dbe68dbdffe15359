// The program table (loader/program_table.h) and the BPF object agree: every program of the
// object is in the table exactly once, on the backend its section says, attached where the
// table says. A program renamed in bpf/ fails to compile the table; one added without an entry
// fails here. Opening the object needs no privileges (nothing is loaded).
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "inotrace_bpf.skel.h"
#include "loader/program_table.h"

namespace inotrace {
namespace {

struct OpenSkeleton {
  inotrace_bpf* skel = inotrace_bpf__open();
  ~OpenSkeleton() { inotrace_bpf__destroy(skel); }
};

// The backend a program's section implies.
Backend backend_of_section(std::string_view sec) {
  if (sec.starts_with("fentry/") || sec.starts_with("fexit/")) return Backend::Fentry;
  if (sec.starts_with("tracepoint/")) return Backend::Tracepoint;
  return Backend::Kprobe;  // kprobe, kretprobe, ksyscall/, kretsyscall/
}

TEST(ProgramTableTest, EveryProgramOfTheObjectIsInTheTableOnceOnItsSectionsBackend) {
  OpenSkeleton o;
  ASSERT_NE(o.skel, nullptr) << "cannot open the BPF object";
  std::map<const bpf_program*, const ProgramSpec*> by_program;
  std::vector<const ProgramSpec*> attached_again;
  for (const ProgramSpec& spec : program_table()) {
    const bpf_program* prog = o.skel->progs.*spec.program;
    ASSERT_NE(prog, nullptr) << spec.name;
    EXPECT_EQ(bpf_program__name(prog), spec.name) << "the entry's name is its field's";
    if (spec.attach == Attach::SyscallTracepoint)
      attached_again.push_back(&spec);
    else
      EXPECT_TRUE(by_program.emplace(prog, &spec).second) << spec.name << " is in the table twice";
  }
  // A program attached once more by hand is a syscall tracepoint program that has its own entry,
  // on another tracepoint of the same backend.
  for (const ProgramSpec* again : attached_again) {
    auto it = by_program.find(o.skel->progs.*again->program);
    ASSERT_NE(it, by_program.end()) << again->name << " is attached again but never by its section";
    EXPECT_EQ(it->second->backend, Backend::Tracepoint) << again->name;
    EXPECT_EQ(again->backend, Backend::Tracepoint) << again->name;
    EXPECT_TRUE(again->target.starts_with("sys_")) << again->name;
    EXPECT_NE(again->target, it->second->target) << again->name << " twice on one tracepoint";
    // An exit program reads ret where an enter program reads args[0]: never the other's.
    for (std::string_view side : {"sys_enter_", "sys_exit_"})
      EXPECT_EQ(again->target.starts_with(side), it->second->target.starts_with(side)) << again->name;
  }
  // Two entries attaching one program to one place would report every event twice.
  std::set<std::pair<const bpf_program*, std::string_view>> places;
  for (const ProgramSpec& spec : program_table())
    EXPECT_TRUE(places.emplace(o.skel->progs.*spec.program, spec.target).second)
        << spec.name << " on " << spec.target << " twice";
  bpf_program* prog;
  int programs = 0;
  bpf_object__for_each_program(prog, o.skel->obj) {
    // Not a hook: the tracer loads it with every backend and test-runs it once (inotify_identity).
    if (prog == o.skel->progs.identify_inotify) continue;
    programs++;
    std::string name = bpf_program__name(prog);
    std::string sec = bpf_program__section_name(prog);
    auto it = by_program.find(prog);
    ASSERT_NE(it, by_program.end()) << name << " (SEC(\"" << sec << "\")) is not in loader/program_table.cpp: "
                                    << "it would never be loaded";
    const ProgramSpec& spec = *it->second;
    EXPECT_EQ(backend_of_section(sec), spec.backend) << name << ": SEC(\"" << sec << "\")";
    // Where it attaches: the section's target, or (hand-attached kprobes) a bare section.
    if (spec.attach == Attach::BySection) {
      std::string target = sec.substr(sec.find('/') + 1);
      if (sec.starts_with("ksyscall/") || sec.starts_with("kretsyscall/")) target = "__x64_sys_" + target;
      if (sec.starts_with("tracepoint/syscalls/")) target = sec.substr(std::string("tracepoint/syscalls/").size());
      EXPECT_EQ(target, spec.target) << name << ": SEC(\"" << sec << "\")";
    } else {
      EXPECT_EQ(sec, spec.attach == Attach::Kretprobe ? "kretprobe" : "kprobe") << name;
    }
  }
  EXPECT_EQ(programs + attached_again.size(), program_table().size());
}

TEST(ProgramTableTest, EachBackendProbesItsHooksBeforeItIsChosen) {
  EXPECT_EQ(probed_targets(Backend::Fentry),
            (std::vector<std::string>{"inotify_freeing_mark", "fsnotify_add_mark_locked", "fsnotify_destroy_group",
                                      "__x64_sys_inotify_add_watch"}));
  EXPECT_EQ(probed_targets(Backend::Kprobe), probed_targets(Backend::Fentry));
  EXPECT_EQ(probed_targets(Backend::Tracepoint).size(), 6u);
  for (const auto& f : probed_targets(Backend::Fentry))
    EXPECT_NE(std::find(attached_functions().begin(), attached_functions().end(), f), attached_functions().end()) << f;
}

}  // namespace
}  // namespace inotrace
