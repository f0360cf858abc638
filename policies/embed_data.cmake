# Writes OUT from DIR/*.txt: a C++ file defining rapport::policies::embedded_data(name),
# which returns the text of policies/data/<name>.txt.
set(body "// Generated from policies/data/*.txt; do not edit.\n#include <string_view>\n#include <map>\n#include <string>\nnamespace rapport::policies {\nstd::string_view embedded_data(std::string_view name) {\n    static const std::map<std::string, std::string_view, std::less<>> files = {\n")
file(GLOB FILES ${DIR}/*.txt)
list(SORT FILES)
foreach(f ${FILES})
  get_filename_component(stem ${f} NAME_WE)
  file(READ ${f} content)
  # Raw string literal with a delimiter no data file uses.
  string(APPEND body "        {\"${stem}\", R\"rapport_data(${content})rapport_data\"},\n")
endforeach()
string(APPEND body "    };\n    auto it = files.find(name);\n    return it == files.end() ? std::string_view{} : it->second;\n}\n}  // namespace rapport::policies\n")
file(WRITE ${OUT} "${body}")
