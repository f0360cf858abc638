// no-personalisation: the own words name neither the person nor the organisation.

#include "tests/policies/rules_fixture.h"

using namespace rapport::test;

TEST_F(Rules, NothingAboutTheEmployer) {
    Mail m;
    m.to = "careers@estovar.com";
    m.body = "Dear Hiring Manager,\n\nI am writing to apply for the Graduate Software Developer position.\n\n"
             "Kind regards,\nJordan\n";
    EXPECT_EQ(fired(m), Set{"no-personalisation"});
}

TEST_F(Rules, OrganisationNamedIgnoringSpacesAndPunctuation) {
    Mail m;
    m.to = "hannah.lowe@ferrowbuild.co.uk";
    m.body = "Dear Hiring Manager,\n\nI'd like to apply for the Site Administrator role on Ferrow Build's scheme.\n\n"
             "Kind regards,\nMarcus\n";
    EXPECT_FALSE(fired(m).count("no-personalisation"));
}

TEST_F(Rules, NameOnlyInTheGreetingIsNotPersonalisation) {
    Mail m;
    m.to = "Kwame Osei <kwame.osei@orbisant.com>";
    m.body = "Dear Kwame,\n\nI am writing to apply for any graduate vacancies you may have.\n\nRegards,\nJordan\n";
    EXPECT_TRUE(fired(m).count("no-personalisation"));
}

TEST_F(Rules, PostscriptCounts) {
    Mail m;
    m.to = "Owen Hart <o.hart@foxglovestudio.co.uk>";
    m.subject = "Junior designer role";
    m.body = "Dear Owen,\n\nI'm applying for the junior designer role you advertised on Instagram.\n\n"
             "Kind regards,\nAmelia Clark\nP.S. The Foxglove Studio labels are why I started lettering.\n";
    EXPECT_FALSE(fired(m).count("no-personalisation"));
}
