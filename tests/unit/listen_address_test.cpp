#include "serve/listen_address.h"

#include <gtest/gtest.h>

#include "util/error.h"

namespace inotrace {
namespace {

using V = std::vector<std::string>;

TEST(ListenAddress, LoopbackFormsExposeNothing) {
  for (const char* l : {"127.0.0.1:9717", "127.1.2.3:1", "localhost:9717", "[::1]:9717", "[::ffff:127.0.0.1]:9717",
                        "127.0.0.1:1,[::1]:2", "127.0.0.1:1, localhost:2", "127.0.0.1:443s"}) {
    EXPECT_EQ(non_loopback_listen_addresses(l), V{}) << l;
    EXPECT_EQ(listen_warning(l), std::nullopt) << l;
  }
}

TEST(ListenAddress, EveryEntryOfACommaListIsChecked) {
  EXPECT_EQ(non_loopback_listen_addresses("127.0.0.1:1,0.0.0.0:2"), V{"0.0.0.0:2"});
  EXPECT_EQ(non_loopback_listen_addresses("0.0.0.0:2,127.0.0.1:1"), V{"0.0.0.0:2"});
  EXPECT_EQ(non_loopback_listen_addresses("127.0.0.1:1,10.0.0.5:2,[::]:3"), (V{"10.0.0.5:2", "[::]:3"}));
}

TEST(ListenAddress, BarePortsAndNonLiteralHostsBindBeyondLoopback) {
  for (const char* l : {"9717", "+9717", "0.0.0.0:9717", "[::]:9717", "[fe80::1]:9717", "192.168.1.1:80",
                        "example.com:80", "127.0.0.1.evil:80", "128.0.0.1:80", "[::2]:80"})
    EXPECT_EQ(non_loopback_listen_addresses(l), V{l}) << l;
}

TEST(ListenAddress, WarningNamesWhatIsExposed) {
  auto w = listen_warning("127.0.0.1:1,0.0.0.0:2");
  ASSERT_TRUE(w.has_value());
  EXPECT_NE(w->find("0.0.0.0:2"), std::string::npos) << *w;
  EXPECT_EQ(w->find("127.0.0.1:1 "), std::string::npos) << "loopback entries are not called exposed: " << *w;
  EXPECT_TRUE(w->starts_with("warning:")) << *w;
}

TEST(ListenAddress, CivetwebPortsTranslateLocalhostAndRefuseEmptyEntries) {
  EXPECT_EQ(civetweb_listening_ports("localhost:1,127.0.0.1:2"), "127.0.0.1:1,127.0.0.1:2");
  EXPECT_THROW(civetweb_listening_ports("127.0.0.1:1,"), Error);
  EXPECT_THROW(civetweb_listening_ports(""), Error);
}

}  // namespace
}  // namespace inotrace
