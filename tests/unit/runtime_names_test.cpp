// Pod and container names from the runtimes' state on the node: containerd's task bundles, CRI-O's
// container userdata, kubelet's /var/log/pods, laid out as those runtimes document and write them
// (containerd: <task root>/<namespace>/<id>/config.json with the CRI plugin's
// io.kubernetes.cri.* annotations; CRI-O: <storage>/<id>/userdata/config.json with
// io.kubernetes.pod.* / io.kubernetes.container.name; kubelet: <namespace>_<pod>_<uid>/<container>).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "paths/runtime_names.h"

namespace inotrace {
namespace {

namespace fs = std::filesystem;

const std::string kUid = "5b4a2c1e-8f3d-4e6a-9b7c-0d1e2f3a4b5c";
const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

class StateDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/inotrace-runtime-state.XXXXXX";
    root_ = mkdtemp(tmpl);
    dirs_ = {root_ + "/containerd", root_ + "/crio", root_ + "/pods"};
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
  }
  Workload pod_process() {
    Workload w;
    w.pod_uid = kUid;
    w.qos = "burstable";
    w.container_id = kId;
    return w;
  }
  std::string root_;
  RuntimeStateDirs dirs_;
};

TEST_F(StateDir, ContainerdTaskBundleNamesPodAndContainer) {
  write(dirs_.containerd_tasks + "/k8s.io/" + kId + "/config.json",
        R"({"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.container-type":"container",
            "io.kubernetes.cri.container-name":"kube-proxy","io.kubernetes.cri.sandbox-name":"kube-proxy-x7k2p",
            "io.kubernetes.cri.sandbox-namespace":"kube-system","io.kubernetes.cri.sandbox-uid":")" + kUid + R"("}})");
  Workload w = pod_process();
  name_from_runtime_state(w, dirs_);
  EXPECT_EQ(w.pod_namespace, "kube-system");
  EXPECT_EQ(w.pod_name, "kube-proxy-x7k2p");
  EXPECT_EQ(w.container_name, "kube-proxy");
  EXPECT_EQ(w.runtime, "containerd") << "a cgroupfs-driver path does not say; the bundle's place does";
}

TEST_F(StateDir, CrioUserdataNamesPodAndContainer) {
  write(dirs_.crio_containers + "/" + kId + "/userdata/config.json",
        R"({"annotations":{"io.kubernetes.pod.name":"web-0","io.kubernetes.pod.namespace":"shop",
            "io.kubernetes.pod.uid":")" + kUid + R"(","io.kubernetes.container.name":"nginx"}})");
  Workload w = pod_process();
  name_from_runtime_state(w, dirs_);
  EXPECT_EQ(w.pod_namespace, "shop");
  EXPECT_EQ(w.pod_name, "web-0");
  EXPECT_EQ(w.container_name, "nginx");
  EXPECT_EQ(w.runtime, "cri-o");
}

TEST_F(StateDir, SandboxContainerIsNamedPOD) {
  Workload w = pod_process();
  name_from_oci_config(w, R"({"annotations":{"io.kubernetes.cri.container-type":"sandbox",
                              "io.kubernetes.cri.sandbox-name":"p","io.kubernetes.cri.sandbox-namespace":"n"}})");
  EXPECT_EQ(w.container_name, "POD");
  EXPECT_EQ(w.pod_name, "p");
}

TEST_F(StateDir, PodLogDirectoryNamesThePodWhenNoBundleDoes) {
  fs::create_directories(dirs_.pod_logs + "/default_dev-server-3_" + kUid + "/app");
  fs::create_directories(dirs_.pod_logs + "/default_other_11111111-2222-3333-4444-555555555555");
  Workload w = pod_process();
  name_from_runtime_state(w, dirs_);
  EXPECT_EQ(w.pod_namespace, "default");
  EXPECT_EQ(w.pod_name, "dev-server-3");
  EXPECT_EQ(w.container_name, "") << "the log directory does not map ids to container names";
}

TEST_F(StateDir, MalformedOrMissingStateNamesNothing) {
  write(dirs_.containerd_tasks + "/k8s.io/" + kId + "/config.json", "{not json");
  Workload w = pod_process();
  name_from_runtime_state(w, dirs_);
  EXPECT_EQ(w.pod_name, "");
  name_from_oci_config(w, R"({"annotations":{"io.kubernetes.cri.sandbox-name":7}})");
  EXPECT_EQ(w.pod_name, "") << "a non-string annotation is no name";
  name_from_oci_config(w, R"([1,2])");
  EXPECT_EQ(w.pod_name, "");
}

TEST_F(StateDir, OnlyHexContainerIdsBecomePaths) {
  // Where "<tasks>/<ns>/../../escape/config.json" and "<crio>/../escape/userdata/config.json" land.
  write(root_ + "/escape/config.json", R"({"annotations":{"io.kubernetes.cri.sandbox-name":"leaked"}})");
  write(root_ + "/escape/userdata/config.json", R"({"annotations":{"io.kubernetes.pod.name":"leaked"}})");
  fs::create_directories(dirs_.containerd_tasks + "/k8s.io");
  Workload w = pod_process();
  w.container_id = "../../escape";
  name_from_runtime_state(w, dirs_);
  EXPECT_EQ(w.pod_name, "");
  w.container_id = "../escape";
  name_from_runtime_state(w, dirs_);
  EXPECT_EQ(w.pod_name, "");
}

}  // namespace
}  // namespace inotrace
