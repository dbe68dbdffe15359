// TypedCastsAtLoad's scopes nest: an inner scope neither sees nor loses what the outer one's
// load left (the refused program's name, a link failure), so the outer scope still decides its
// own fallback after an inner load.
#include <gtest/gtest.h>

#include "loader/preflight.h"
#include "loader/section_handlers.h"

namespace inotrace {
namespace {

TEST(TypedCastsScope, AnInnerScopeStartsCleanAndGivesTheOuterRefusalBack) {
  TypedCastsAtLoad outer(7);
  restore_rejected_program("outer_prog_typed");  // as libbpf's warning leaves it after a refusal
  {
    TypedCastsAtLoad inner(9);
    EXPECT_EQ(take_rejected_program(), "") << "the inner scope sees no refusal of the outer load";
    EXPECT_EQ(inner.link_failure(), "");
    EXPECT_NO_THROW(inner.throw_if_typed_refused(-22, {"outer_prog_typed"}, ""));
  }
  try {
    outer.throw_if_typed_refused(-22, {"outer_prog_typed"}, "libbpf says");
    FAIL() << "the outer scope's refusal was lost";
  } catch (const TypedLoadRefused& e) {
    EXPECT_NE(std::string(e.what()).find("outer_prog_typed did not load"), std::string::npos) << e.what();
  }
}

TEST(TypedCastsScope, OnlyTheTypedProgramsRefusalFallsBack) {
  TypedCastsAtLoad casts(7);
  restore_rejected_program("probed_prog");
  EXPECT_NO_THROW(casts.throw_if_typed_refused(-1, {"a_typed", "b_typed"}, "")) << "a probed program's refusal";
  restore_rejected_program("b_typed");
  EXPECT_THROW(casts.throw_if_typed_refused(-22, {"a_typed", "b_typed"}, ""), TypedLoadRefused);
}

TEST(TypedCastsScope, AScopeWithoutTypedProgramsNeverFallsBack) {
  TypedCastsAtLoad casts(0);
  restore_rejected_program("a_typed");
  EXPECT_NO_THROW(casts.throw_if_typed_refused(-22, {"a_typed"}, ""));
  take_rejected_program();
}

}  // namespace
}  // namespace inotrace
