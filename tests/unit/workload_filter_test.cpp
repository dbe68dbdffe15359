// --pod / --namespace / --container: what each accepts, and that an unknown workload matches no
// pod filter.
#include <gtest/gtest.h>

#include "events/workload_filter.h"

namespace inotrace {
namespace {

Workload dev1() {
  Workload w;
  w.pod_uid = "5b4a2c1e-8f3d-4e6a-9b7c-0d1e2f3a4b5c";
  w.pod_namespace = "team-a";
  w.pod_name = "dev-1";
  w.container_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  w.container_name = "app";
  return w;
}

TEST(WorkloadFilter, PodByNamespaceAndNameOrUid) {
  Workload w = dev1();
  EXPECT_TRUE(WorkloadFilter{}.matches(nullptr)) << "no filter: everything";
  EXPECT_TRUE(WorkloadFilter{.pod = "team-a/dev-1"}.matches(&w));
  EXPECT_TRUE(WorkloadFilter{.pod = w.pod_uid}.matches(&w));
  EXPECT_FALSE(WorkloadFilter{.pod = "team-b/dev-1"}.matches(&w));
  EXPECT_FALSE(WorkloadFilter{.pod = "team-a/dev"}.matches(&w)) << "whole names only";
  EXPECT_FALSE(WorkloadFilter{.pod = "dev-1"}.matches(&w)) << "a bare name is no uid";
  EXPECT_TRUE(WorkloadFilter{.namespace_ = "team-a"}.matches(&w));
  EXPECT_FALSE(WorkloadFilter{.namespace_ = "team"}.matches(&w));
}

TEST(WorkloadFilter, ContainerByNameIdOrLongPrefix) {
  Workload w = dev1();
  EXPECT_TRUE(WorkloadFilter{.container = "app"}.matches(&w));
  EXPECT_TRUE(WorkloadFilter{.container = w.container_id}.matches(&w));
  EXPECT_TRUE(WorkloadFilter{.container = "0123456789ab"}.matches(&w));
  EXPECT_FALSE(WorkloadFilter{.container = "0123"}.matches(&w)) << "prefixes of 12 characters or more";
  EXPECT_FALSE(WorkloadFilter{.container = "ap"}.matches(&w));
  EXPECT_TRUE((WorkloadFilter{.pod = "team-a/dev-1", .container = "app"}.matches(&w))) << "filters combine";
  EXPECT_FALSE((WorkloadFilter{.pod = "team-a/dev-1", .container = "db"}.matches(&w)));
}

TEST(WorkloadFilter, UnknownOrHostWorkloadsMatchNoPodFilter) {
  Workload host;
  host.unit = "kubelet.service";
  Workload unnamed = dev1();
  unnamed.pod_namespace = unnamed.pod_name = unnamed.container_name = "";
  for (const WorkloadFilter& f : {WorkloadFilter{.pod = "team-a/dev-1"}, WorkloadFilter{.namespace_ = ""},
                                  WorkloadFilter{.container = "app"}}) {
    EXPECT_FALSE(f.matches(nullptr));
    EXPECT_FALSE(f.matches(&host));
  }
  EXPECT_FALSE(WorkloadFilter{.pod = "/"}.matches(&unnamed)) << "an empty name matches no NAMESPACE/NAME";
  EXPECT_TRUE(WorkloadFilter{.pod = unnamed.pod_uid}.matches(&unnamed));
}

}  // namespace
}  // namespace inotrace
