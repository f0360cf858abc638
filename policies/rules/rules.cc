#include <algorithm>

#include "common/strings.h"
#include "policies/rules/rule.h"

#include "policies/lexicon.h"

#include <cctype>

namespace rapport::policies {

const std::vector<Rule>& all_rules() {
    static const std::vector<Rule> rules = {
        {"cv-attachment-only", Scope::new_mail, check_cv_attachment_only},
        {"template-reuse", Scope::new_mail, check_template_reuse},
        {"bulk-recipients", Scope::job_seeking, check_bulk_recipients},
        {"generic-greeting", Scope::job_seeking, check_generic_greeting},
        {"greeting-mismatch", Scope::job_seeking, check_greeting_mismatch},
        {"no-personalisation", Scope::job_seeking, check_no_personalisation},
        {"unfilled-placeholder", Scope::all_mail, check_unfilled_placeholder},
        {"wrong-organisation", Scope::job_seeking, check_wrong_organisation},
        {"vague-subject", Scope::job_seeking, check_vague_subject},
    };
    return rules;
}

bool applies(Scope scope, const Features& f) {
    switch (scope) {
    case Scope::all_mail: return true;
    case Scope::new_mail: return !f.reply;
    case Scope::job_seeking: return !f.reply && f.job_seeking;
    }
    return false;
}

bool greeting_has_placeholder(const Features& f) { return !find_placeholder(f.parts.greeting).empty(); }

namespace {
// "priya" -> "Priya", "acme-widgets" -> "Acme Widgets" (ASCII letters only;
// other bytes are kept as they are).
std::string title_case(std::string_view s) {
    std::string out;
    bool start = true;
    for (char c : s) {
        if (c == '-' || c == '_' || c == '.') {
            out += ' ';
            start = true;
            continue;
        }
        out += start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
        start = c == ' ';
    }
    return out;
}
} // namespace

std::string display_of(const Features& f, const Person& p) {
    for (const auto& a : f.msg->recipients()) {
        if (common::lower(a.address) == p.address && !a.name.empty() && a.name.find('@') == std::string::npos) return a.name;
    }
    // A name known only from a first.last address: "priya.shah@" -> "Priya Shah".
    if (!p.name_words.empty()) {
        std::string name;
        for (auto& w : p.name_words) {
            if (!name.empty()) name += ' '; // (not `a + b` into name: g++ 12 -O3 -Wrestrict misfires on that)
            name += title_case(w);
        }
        return name;
    }
    return p.address;
}

std::string organisation_label(const Features& f) {
    for (const auto& p : f.recipients) {
        if (p.freemail || p.domain.empty()) continue;
        std::string reg = registrable_domain(p.domain);
        std::string label = reg.substr(0, reg.find('.'));
        if (!label.empty()) return title_case(label);
    }
    return {};
}

} // namespace rapport::policies
