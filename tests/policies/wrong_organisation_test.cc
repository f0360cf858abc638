// wrong-organisation: a firm written to earlier named in a letter to another.

#include "tests/policies/rules_fixture.h"

using namespace rapport::test;

TEST_F(Rules, LeftoverOrganisationFromAnEarlierLetter) {
    EXPECT_EQ(fired(templated("Ann", "Halden", 3)), Set{});
    auto got = fired(templated("Ruth", "Corvana", 4, "Halden"));
    EXPECT_TRUE(got.count("wrong-organisation"));
    // Naming the recipient's organisation too is not a leftover.
    Mail both = templated("Sam", "Pellham", 5, "Halden");
    both.body += "\nP.S. Pellham's new depot looks great.\n";
    EXPECT_FALSE(fired(both).count("wrong-organisation"));
}
