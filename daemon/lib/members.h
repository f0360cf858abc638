// members.h - the job club's members: who may send through rapportd.
//
//   Members m(state_dir);                      // <state>/members.db, mode 0600
//   m.add("amira", "pass phrase", "new", Role::member);
//   if (auto who = m.verify("amira", "pass phrase")) ...   // slow on purpose
//
// A member logs in to SMTP (AUTH PLAIN/LOGIN over TLS) and to the held-mail
// page with a name and a password. Their mail is kept under their name: the
// sending history, the template memory, held mail and statistics belong to
// the member, not to the From address, because everyone in a club may send
// as the shared jobclub@ address.
//
// Passwords are stored only as argon2id hashes (libsodium crypto_pwhash_str,
// "interactive" limits: about 64 MiB and a few tens of milliseconds per
// check, which is what makes guessing expensive). verify() therefore must
// not run on a network thread; rapportd runs it on a thread of its own.
//
// Roles: a "member" sees and decides about their own mail only; an
// "adviser" sees everyone's. Groups pick the policy ([groups.NAME] in the
// policy file); "" means the policy's main rules. A member's language
// ("auto", or en, fr, de, es, pl) is the one Rapport coaches them in, over
// the daemon's [coach] language, and the page's language for them.
//
// API tokens for a member's mail client add-on are not stored: a token is
// NAME.GENERATION.MAC with MAC = HMAC-SHA256(the daemon's API token,
// "member-token:NAME:GENERATION"), so the daemon can check it without a
// table of secrets, and `rapportctl member token NAME` (which bumps the
// generation) revokes the previous one.
//
// The database is opened per call site (rapportctl in one process, the
// daemon in another), so a member added while rapportd runs can log in at
// once. Where the rows live is a MemberRows: <state>/members.db, or
// PostgreSQL with [store] url (store/pg_members.h), which every rapportd
// of an installation reads. Thread-safe.

#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rapport::daemon {

enum class Role { member, adviser };
// Inline: the rows in PostgreSQL (store/) read and write them too.
inline std::string_view to_string(Role r) { return r == Role::adviser ? "adviser" : "member"; }
inline std::optional<Role> parse_role(std::string_view s) {
    if (s == "member") return Role::member;
    if (s == "adviser") return Role::adviser;
    return std::nullopt;
}

struct Member {
    std::string name;   // lower case; the SMTP AUTH name and the account key
    std::string group;  // policy group; "" = the main rules
    Role role = Role::member;
    std::int64_t created = 0;
    std::int64_t token_generation = 0; // 0: no add-on token issued yet
    std::string language = "auto";     // findings and page: "auto" or a language (policies/language.h)
};

struct MemberError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The rows Members keeps, as the store keeps them: names come normalised
// and checked, each call is atomic, a bool says whether the member was
// there (or, for insert, whether the name was free). Throws
// std::runtime_error when the store fails. Thread-safe.
class MemberRows {
public:
    virtual ~MemberRows() = default;
    virtual bool insert(const Member& m, const std::string& hash) = 0;
    virtual bool remove(const std::string& name) = 0;
    virtual bool set_hash(const std::string& name, const std::string& hash) = 0;
    virtual bool set_group(const std::string& name, const std::string& group) = 0;
    virtual bool set_role(const std::string& name, Role role) = 0;
    virtual bool set_language(const std::string& name, const std::string& language) = 0;
    // The member and their password hash.
    virtual std::optional<std::pair<Member, std::string>> find(const std::string& name) const = 0;
    virtual std::vector<Member> list() const = 0; // by name
    virtual bool any() const = 0;
    // Bumps the add-on token generation: the new one, or nothing for no such member.
    virtual std::optional<std::int64_t> bump_token(const std::string& name) = 0;
};

class Members {
public:
    explicit Members(const std::string& state_dir); // <state>/members.db; throws std::runtime_error
    explicit Members(std::unique_ptr<MemberRows> rows);
    ~Members();
    Members(const Members&) = delete;
    Members& operator=(const Members&) = delete;

    // Names: 1-64 characters of letters, digits and . _ @ + - (an e-mail
    // address works); case-insensitive. Passwords: at least kMinPassword
    // characters. Throws MemberError with a sentence for the adviser.
    static constexpr std::size_t kMinPassword = 8;
    static std::string normalise_name(std::string_view name); // throws MemberError
    static void check_group(std::string_view group);           // throws MemberError

    void add(std::string_view name, std::string_view password, std::string_view group, Role role);
    bool remove(std::string_view name);   // false when there is no such member
    void set_password(std::string_view name, std::string_view password);
    void set_group(std::string_view name, std::string_view group);
    void set_role(std::string_view name, Role role);
    // "auto" or a language Rapport speaks; throws MemberError otherwise.
    void set_language(std::string_view name, std::string_view language);
    std::optional<Member> find(std::string_view name) const;
    std::vector<Member> list() const;
    bool empty() const;

    // The member when `password` is theirs. Takes as long for an unknown
    // name as for a wrong password, so timing does not tell who is a member.
    std::optional<Member> verify(std::string_view name, std::string_view password) const;

    // A new add-on token for `name` (the old one stops working).
    std::string issue_token(std::string_view name, std::string_view api_token);
    // The member's current add-on token (what issue_token last returned).
    std::optional<std::string> current_token(std::string_view name, std::string_view api_token) const;
    // The member a token belongs to, if it is current.
    std::optional<Member> by_token(std::string_view token, std::string_view api_token) const;

private:
    std::unique_ptr<MemberRows> rows_;
};

// Hashes a password with argon2id (libsodium's encoded "$argon2id$..." form).
std::string hash_password(std::string_view password);
bool password_matches(std::string_view encoded_hash, std::string_view password);

} // namespace rapport::daemon
