# Writes OUT: a C++ file defining NAMESPACE::FUNCTION(lang), which returns the
# bytes of the compiled catalogue <lang>.mo among MOS (paths separated by |),
# and NAMESPACE::FUNCTION_languages(). Run by cmake/Catalogues.cmake at build time.
string(REPLACE "|" ";" mos "${MOS}")
set(arrays "")
set(entries "")
set(names "")
foreach(mo ${mos})
  get_filename_component(lang ${mo} NAME_WE)
  string(MAKE_C_IDENTIFIER "${lang}" id)
  file(READ ${mo} hex HEX)
  string(LENGTH "${hex}" n)
  math(EXPR bytes "${n} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND arrays "const unsigned char mo_${id}[${bytes}] = {${hex}};\n")
  string(APPEND entries "        {\"${lang}\", std::string_view(reinterpret_cast<const char*>(mo_${id}), ${bytes})},\n")
  string(APPEND names "\"${lang}\", ")
endforeach()
file(WRITE ${OUT} "// Generated from .po files by cmake/embed_catalogues.cmake; do not edit.
#include <map>
#include <string>
#include <string_view>
#include <vector>
namespace ${NAMESPACE} {
namespace {
${arrays}}  // namespace
std::string_view ${FUNCTION}(std::string_view lang) {
    static const std::map<std::string, std::string_view, std::less<>> files = {
${entries}    };
    auto it = files.find(lang);
    return it == files.end() ? std::string_view{} : it->second;
}
std::vector<std::string> ${FUNCTION}_languages() { return {${names}}; }
}  // namespace ${NAMESPACE}
")
