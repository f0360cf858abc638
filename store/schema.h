// schema.h - creates and migrates rapportd's tables in PostgreSQL.
//
// The version is a number in rapport_schema; each rapportd applies the
// steps it knows above it at start, in one transaction, under an advisory
// lock so that nodes starting together do not race. A database newer than
// the node is refused (an old node must not write rows it does not
// understand).

#pragma once

#include "store/pg.h"

#include <functional>
#include <string>

namespace rapport::store {

// The version this build creates.
int schema_version();

// Brings the schema up to schema_version(); returns the version found.
// Throws pg::Error, or std::runtime_error for a newer schema.
int migrate(pg::Conn& c, const std::function<void(const std::string&)>& log = {});

// A secret every node must share (the API token, which member add-on
// tokens and confirmations are made with): the value already stored under
// `name`, or `mine`, stored now, when there is none.
std::string shared_secret(pg::Conn& c, const std::string& name, const std::string& mine);

} // namespace rapport::store
