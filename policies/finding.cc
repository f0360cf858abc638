#include "policies/finding.h"

#include <nlohmann/json.hpp>

namespace rapport::policies {

std::string_view to_string(Action a) {
    switch (a) {
    case Action::off: return "off";
    case Action::info: return "info";
    case Action::warn: return "warn";
    case Action::hold: return "hold";
    case Action::reject: return "reject";
    }
    return "off";
}

std::optional<Action> parse_action(std::string_view s) {
    for (Action a : {Action::off, Action::info, Action::warn, Action::hold, Action::reject})
        if (to_string(a) == s) return a;
    return std::nullopt;
}

std::string_view verdict_name(Action a) {
    switch (a) {
    case Action::warn: return "warn";
    case Action::hold: return "hold";
    case Action::reject: return "reject";
    default: return "relay";
    }
}

nlohmann::json to_json(const std::vector<Finding>& findings) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& f : findings)
        out.push_back({{"rule", f.rule}, {"message", f.message}, {"lang", f.lang}, {"action", std::string(to_string(f.action))}});
    return out;
}

} // namespace rapport::policies
