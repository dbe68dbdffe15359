// identify_cgroup and cgroup_path_of (and the per-pod roll-up built on them) on the cgroup paths kubelet and the runtimes create, for
// every driver x runtime combination, as /proc/PID/cgroup shows them. Shapes from: kubelet
// (pkg/kubelet/cm/cgroup_manager_linux.go: the systemd driver's "kubepods-<qos>-pod<uid>.slice"
// with '-' escaped to '_'; qos_container_manager_linux.go: burstable/besteffort below kubepods,
// guaranteed pods directly in it), containerd's CRI plugin with SystemdCgroup
// ("cri-containerd-<id>.scope"), CRI-O's systemd manager ("crio-<id>.scope", and
// "crio-conmon-<id>.scope" for the monitor), docker ("docker-<id>.scope"); cgroupfs runtimes
// name the container directory by its bare id (CRI-O: "crio-<id>").
#include <gtest/gtest.h>

#include "paths/cgroup_identity.h"

namespace inotrace {
namespace {

const std::string kUid = "5b4a2c1e-8f3d-4e6a-9b7c-0d1e2f3a4b5c";
const std::string kUidSystemd = "5b4a2c1e_8f3d_4e6a_9b7c_0d1e2f3a4b5c";
const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

CgroupIdentity pod(std::string qos, std::string id = "", std::string runtime = "") {
  return CgroupIdentity{kUid, std::move(qos), std::move(id), std::move(runtime), ""};
}

TEST(CgroupIdentity, CgroupfsDriver) {
  EXPECT_EQ(identify_cgroup("/kubepods/burstable/pod" + kUid + "/" + kId), pod("burstable", kId));
  EXPECT_EQ(identify_cgroup("/kubepods/besteffort/pod" + kUid + "/" + kId), pod("besteffort", kId));
  EXPECT_EQ(identify_cgroup("/kubepods/pod" + kUid + "/" + kId), pod("guaranteed", kId));
  EXPECT_EQ(identify_cgroup("/kubepods/burstable/pod" + kUid + "/crio-" + kId), pod("burstable", kId, "cri-o"));
  EXPECT_EQ(identify_cgroup("/kubepods/burstable/pod" + kUid), pod("burstable")) << "the pod's own cgroup";
}

TEST(CgroupIdentity, SystemdDriver) {
  const std::string burstable = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kUidSystemd + ".slice/";
  EXPECT_EQ(identify_cgroup(burstable + "cri-containerd-" + kId + ".scope"), pod("burstable", kId, "containerd"));
  EXPECT_EQ(identify_cgroup(burstable + "crio-" + kId + ".scope"), pod("burstable", kId, "cri-o"));
  EXPECT_EQ(identify_cgroup(burstable + "crio-conmon-" + kId + ".scope"), pod("burstable", kId, "cri-o"));
  EXPECT_EQ(identify_cgroup(burstable + "docker-" + kId + ".scope"), pod("burstable", kId, "docker"));
  EXPECT_EQ(identify_cgroup("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kUidSystemd +
                            ".slice/cri-containerd-" + kId + ".scope"),
            pod("besteffort", kId, "containerd"));
  EXPECT_EQ(identify_cgroup("/kubepods.slice/kubepods-pod" + kUidSystemd + ".slice/cri-containerd-" + kId + ".scope"),
            pod("guaranteed", kId, "containerd"));
}

TEST(CgroupIdentity, NestedKubepodsTrees) {
  // kind / kubelet in a container: the kubepods tree below kubelet's own slice.
  EXPECT_EQ(identify_cgroup("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
                            "kubelet-kubepods-burstable-pod" + kUidSystemd + ".slice/cri-containerd-" + kId + ".scope")
                .pod_uid,
            kUid);
  // A cgroup v1 controller's tree as some hosts mount it.
  EXPECT_EQ(identify_cgroup("/docker/" + kId + "/kubepods/burstable/pod" + kUid + "/" + kId), pod("burstable", kId));
}

TEST(CgroupIdentity, HostProcessesAndNonsense) {
  EXPECT_EQ(identify_cgroup("/system.slice/kubelet.service").unit, "kubelet.service");
  EXPECT_EQ(identify_cgroup("/system.slice/containerd.service").unit, "containerd.service");
  EXPECT_EQ(identify_cgroup("/system.slice/containerd.service/cri-containerd-" + kId + ".scope").unit, "containerd.service");
  EXPECT_EQ(identify_cgroup("/user.slice/user-1000.slice/user@1000.service/app.slice/kubelet.service").unit, "")
      << "a user manager's units are the user's to name";
  EXPECT_EQ(identify_cgroup("/"), CgroupIdentity{});
  EXPECT_EQ(identify_cgroup("/kubepods"), CgroupIdentity{}) << "kubepods itself is no pod";
  EXPECT_EQ(identify_cgroup("/kubepods/burstable"), CgroupIdentity{});
  EXPECT_EQ(identify_cgroup("/kubepods/burstable/notapod/" + kId), CgroupIdentity{});
  EXPECT_EQ(identify_cgroup("/kubepods/burstable/pod" + kUid + "/not-an-id").container_id, "");
  EXPECT_EQ(identify_cgroup("/kubepods/burstable/pod../x"), CgroupIdentity{}) << "no '.' in a uid";
}

TEST(CgroupIdentity, ProcPidCgroupPicksTheUnifiedLineElseMemory) {
  EXPECT_EQ(cgroup_path_of("0::/kubepods.slice/x.scope\n"), "/kubepods.slice/x.scope");
  // Hybrid (v1 controllers beside a unified hierarchy systemd uses): the runtime placed the
  // process in the v1 controllers.
  EXPECT_EQ(cgroup_path_of("12:memory:/kubepods/pod1/" + kId + "\n1:name=systemd:/system.slice/a.service\n0::/\n"),
            "/kubepods/pod1/" + kId);
  // cgroup v1 (this machine's shape): memory first, whatever the order.
  std::string v1 = "13:pids:/kubepods/besteffort/pod" + kUid + "/" + kId + "\n" + "5:cpu,cpuacct:/other\n" +
                   "4:memory:/kubepods/besteffort/pod" + kUid + "/" + kId + "\n" + "1:name=systemd:/system.slice/x\n";
  EXPECT_EQ(cgroup_path_of(v1), "/kubepods/besteffort/pod" + kUid + "/" + kId);
  EXPECT_EQ(cgroup_path_of("3:cpu,cpuacct:/a:b\n"), "/a:b") << "a ':' in the path is the path's";
  EXPECT_EQ(cgroup_path_of("garbage\n:\n1:x:relative\n"), std::nullopt);
  EXPECT_EQ(cgroup_path_of(""), std::nullopt);
}

}  // namespace
}  // namespace inotrace

#include "snapshot/pod_rollup.h"

namespace inotrace {
namespace {

// The pod roll-up: an instance counts for each pod among its holders; the rest is the host's.
TEST(PodRollup, CountsInstancesAndWatchesPerPodAndTheRestForTheHost) {
  auto holder = [](uint32_t pid, std::string uid, std::string container) {
    Holder h;
    h.pid = pid;
    auto w = std::make_shared<Workload>();
    w->pod_uid = std::move(uid);
    w->qos = w->pod_uid.empty() ? "" : "burstable";
    w->container_id = std::move(container);
    if (!w->pod_uid.empty()) h.workload = std::move(w);  // a host process: none
    return h;
  };
  PodRollup r;
  r.add({holder(10, "pod-a", "aaaaaaaaaaaa")}, 5);
  r.add({holder(10, "pod-a", "aaaaaaaaaaaa")}, 1);
  r.add({holder(11, "pod-a", "bbbbbbbbbbbb")}, 2);
  r.add({holder(20, "pod-b", "cccccccccccc"), holder(21, "", "")}, 7);  // shared with a host process
  r.add({holder(30, "", "")}, 100);
  r.add({holder(12, "pod-a", "aaaaaaaaaaaa"), holder(13, "pod-a", "aaaaaaaaaaaa")}, 0);  // one container, two pids
  auto pods = r.pods();
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[0].pod.pod_uid, "pod-a") << "most watches first";
  EXPECT_EQ(pods[0].watches, 8u);
  EXPECT_EQ(pods[0].instances, 4u);
  EXPECT_EQ(pods[0].processes, 4u);
  EXPECT_EQ(pods[0].containers, (std::set<std::string>{"aaaaaaaaaaaa", "bbbbbbbbbbbb"}));
  EXPECT_EQ(pods[0].by_container.at("aaaaaaaaaaaa").watches, 6u);
  EXPECT_EQ(pods[0].by_container.at("aaaaaaaaaaaa").instances, 3u) << "an instance counts once per container";
  EXPECT_EQ(pods[0].by_container.at("bbbbbbbbbbbb").watches, 2u);
  EXPECT_EQ(pods[1].pod.pod_uid, "pod-b");
  EXPECT_EQ(pods[1].watches, 7u);
  EXPECT_EQ(pods[1].by_container.size(), 1u);
  EXPECT_EQ(r.host().instances, 1u) << "an instance a pod holds is the pod's";
  EXPECT_EQ(r.host().watches, 100u);
  EXPECT_EQ(r.host().processes, 2u);
}

}  // namespace
}  // namespace inotrace
