#include <gtest/gtest.h>

#include <set>

#include "loader/backend.h"
#include "util/error.h"

namespace inotrace {
namespace {

// Answers probes from a set of what "works".
class FakeProber : public FeatureProber {
 public:
  explicit FakeProber(std::set<std::string> working) : working_(std::move(working)) {}
  ProbeOutcome fentry(const std::string& f) override { return answer("fentry " + f); }
  ProbeOutcome kprobe(const std::string& f) override { return answer("kprobe " + f); }
  ProbeOutcome syscall_tracepoint(const std::string& n) override { return answer("tracepoint " + n); }
  int calls = 0;

 private:
  ProbeOutcome answer(const std::string& probe) {
    calls++;
    std::string kind = probe.substr(0, probe.find(' '));
    bool ok = working_.count(kind) > 0;
    return ProbeOutcome{probe, ok, ok ? "attached" : "load: Operation not permitted"};
  }
  std::set<std::string> working_;
};

const std::vector<Backend> kAll = {Backend::Fentry, Backend::Kprobe, Backend::Tracepoint};

TEST(BackendChoice, PrefersFentryThenKprobeThenTracepoint) {
  FakeProber all({"fentry", "kprobe", "tracepoint"});
  EXPECT_EQ(choose_backend(std::nullopt, all, kAll).backend, Backend::Fentry);
  FakeProber no_fentry({"kprobe", "tracepoint"});
  EXPECT_EQ(choose_backend(std::nullopt, no_fentry, kAll).backend, Backend::Kprobe);
  FakeProber host({"tracepoint"});  // this development machine
  auto c = choose_backend(std::nullopt, host, kAll);
  EXPECT_EQ(c.backend, Backend::Tracepoint);
  EXPECT_EQ(c.available, std::vector<Backend>{Backend::Tracepoint});
  EXPECT_NE(c.why.find("fentry"), std::string::npos) << "says why fentry was not used: " << c.why;
}

TEST(BackendChoice, ForcedUnavailableBackendErrorListsWhatWorks) {
  FakeProber host({"tracepoint"});
  try {
    choose_backend(Backend::Fentry, host, kAll);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("backend fentry is not available"), std::string::npos) << msg;
    EXPECT_NE(msg.find("Operation not permitted"), std::string::npos) << msg;
    EXPECT_NE(msg.find("available here: tracepoint"), std::string::npos) << msg;
  }
}

TEST(BackendChoice, KernelSupportButNotBuiltInIsNotChosen) {
  FakeProber all({"fentry", "kprobe", "tracepoint"});
  auto c = choose_backend(std::nullopt, all, {Backend::Tracepoint});
  EXPECT_EQ(c.backend, Backend::Tracepoint);
  EXPECT_THROW(choose_backend(Backend::Kprobe, all, {Backend::Tracepoint}), Error);
}

TEST(BackendChoice, NothingAvailableIsAnError) {
  FakeProber none({});
  EXPECT_THROW(choose_backend(std::nullopt, none, kAll), Error);
}

TEST(BackendChoice, EveryProbeIsRecordedForVerbose) {
  FakeProber host({"tracepoint"});
  auto c = choose_backend(std::nullopt, host, kAll);
  EXPECT_EQ((int)c.probes.size(), host.calls);
  EXPECT_GE(c.probes.size(), 3u);
}

TEST(BackendNames, ParseAndName) {
  EXPECT_EQ(parse_backend("kprobe"), Backend::Kprobe);
  EXPECT_EQ(parse_backend("auto"), std::nullopt);
  EXPECT_EQ(backend_name(Backend::Tracepoint), "tracepoint");
}

}  // namespace
}  // namespace inotrace
