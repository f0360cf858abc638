// people.h - who a recipient is: a person's name, an organisation, a party.
//
// From one address (display name + local@domain) we learn what SPEC.md
// calls the recipient's known name, its organisation and its party:
//
//   "Kowalska, Anna" <anna.kowalska@acme.co.uk>
//     name  {"anna", "kowalska"}   (display name, or first.last local part)
//     orgs  {"acme"}                (registrable domain via libpsl)
//     party "acme.co.uk"
//   <jobs@gmail.com>: no name (role word), no organisation (free mail),
//     party "jobs@gmail.com" (each free-mail address is its own party).
//
// All strings are folded (lower case, no accents).

#pragma once

#include "mime/message.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rapport::policies {

struct Person {
    std::string address;                 // lower-case local@domain
    std::string domain;                  // lower-case
    std::vector<std::string> name_words; // folded name parts; empty: no known name
    std::vector<std::string> org_keys;   // folded organisation keys, no spaces ("ferrowbuild")
    bool freemail = false;
    std::string party;                   // registrable domain, or the address for free mail

    bool name_known() const { return !name_words.empty(); }
};

Person describe_person(const mime::Address& a);

// The display name of `a` as people write it, when it is a person's:
// "Kowalska, Anna" <anna.kowalska@acme.co.uk> -> "Anna Kowalska". Empty for
// an organisation or a team ("Hiring Team", "Acme Careers"), an address
// given as the name, or no name.
std::string person_name(const mime::Address& a);

// The registrable domain ("mail.acme.co.uk" -> "acme.co.uk"), public-suffix
// aware (libpsl). Returns the input when it cannot tell.
std::string registrable_domain(std::string_view domain);

bool is_freemail(std::string_view domain);

// Organisation keys of a domain: "ferrowbuild.co.uk" -> {"ferrowbuild"},
// "aireside-logistics.co.uk" -> {"airesidelogistics", "aireside"}. Empty for
// free-mail domains.
std::vector<std::string> domain_org_keys(std::string_view domain);

} // namespace rapport::policies
