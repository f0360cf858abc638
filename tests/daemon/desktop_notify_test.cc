// Unit tests for the desktop notice's words and when it is on by default
// (daemon/lib/desktop_notify.h), and for whom a held message is to
// (held_addressee, daemon/lib/hold.h). The notice on a real session bus:
// desktop_e2e.py.

#include "daemon/lib/desktop_notify.h"
#include "daemon/lib/hold.h"

#include <gtest/gtest.h>

using namespace rapport::daemon;

TEST(DesktopNotify, OnByDefaultOnlyForAPerson) {
    EXPECT_TRUE(desktop_by_default(1000, "", ""));                                // started by hand, no systemd
    EXPECT_TRUE(desktop_by_default(1000, "session-3.scope", ""));                 // from a desktop session
    EXPECT_TRUE(desktop_by_default(1000, "user@1000.service", "rapportd.service")); // systemctl --user
    EXPECT_FALSE(desktop_by_default(998, "rapportd.service", ""));                // the system unit (User=rapport)
    EXPECT_FALSE(desktop_by_default(0, "", ""));                                  // root
    EXPECT_FALSE(desktop_by_default(0, "user@0.service", "rapportd.service"));
}

TEST(DesktopNotify, Summary) {
    EXPECT_EQ(DesktopNotify::summary({"7", "Anna Kowalska", 0, ""}), "Rapport is holding your message to Anna Kowalska");
    EXPECT_EQ(DesktopNotify::summary({"7", "Anna Kowalska", 2, ""}),
              "Rapport is holding your message to Anna Kowalska and 2 others");
    EXPECT_EQ(DesktopNotify::summary({"7", "", 0, ""}), "Rapport is holding your message");
    // Said in the language of the finding it shows.
    EXPECT_EQ(DesktopNotify::summary({"7", "Anna Kowalska", 0, "", "fr"}), "Rapport retient votre message à Anna Kowalska");
    EXPECT_EQ(DesktopNotify::summary({"7", "Anna Kowalska", 1, "", "de"}),
              "Rapport hält Ihre Nachricht an Anna Kowalska und 1 weitere Person zurück");
    EXPECT_EQ(DesktopNotify::summary({"7", "Anna Kowalska", 5, "", "pl"}),
              "Rapport wstrzymuje Pana/Pani wiadomość do: Anna Kowalska i 5 innych osób");
    // A display name is the sender's input to the desktop: no control characters, bounded.
    std::string s = DesktopNotify::summary({"7", "Anna\nKowalska\x1b[31m" + std::string(200, 'x'), 0, ""});
    EXPECT_EQ(s.find('\n'), std::string::npos);
    EXPECT_EQ(s.find('\x1b'), std::string::npos);
    EXPECT_LT(s.size(), 140u);
}

TEST(HeldAddressee, TheFirstToByItsDisplayName) {
    Judgement j;
    j.info.header_to = "Anna.Kowalska@Acme.co.uk, ben@birch.example";
    j.recipients = {"ben@birch.example", "anna.kowalska@acme.co.uk"};
    j.names = {{"anna.kowalska@acme.co.uk", "Anna Kowalska"}, {"ben@birch.example", "Ben Okafor"}};
    EXPECT_EQ(held_addressee(j), "Anna Kowalska");
    j.names.erase("anna.kowalska@acme.co.uk");
    EXPECT_EQ(held_addressee(j), "Anna.Kowalska@Acme.co.uk"); // no name given: the address as written
    j.info.header_to.clear();                                  // Bcc only: the envelope's first
    EXPECT_EQ(held_addressee(j), "Ben Okafor");
    j.recipients.clear();
    EXPECT_EQ(held_addressee(j), "");
}
