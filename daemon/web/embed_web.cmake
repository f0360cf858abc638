# Writes OUT from DIR/* (the page's files): a C++ file defining
# rapport::daemon::web_asset(name), which returns the bytes of daemon/web/<name>
# (empty when there is no such file). Run by daemon/CMakeLists.txt at build time.
set(body "// Generated from daemon/web/*; do not edit.\n#include \"daemon/lib/web_assets.h\"\n#include <map>\n#include <string>\nnamespace rapport::daemon {\nstd::string_view web_asset(std::string_view name) {\n    static const std::map<std::string, std::string_view, std::less<>> files = {\n")
file(GLOB FILES ${DIR}/*.html ${DIR}/*.css ${DIR}/*.js ${DIR}/*.svg)
list(SORT FILES)
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  file(READ ${f} content)
  string(FIND "${content}" ")rapport_web\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${f} contains the raw string delimiter")
  endif()
  string(APPEND body "        {\"${name}\", R\"rapport_web(${content})rapport_web\"},\n")
endforeach()
string(APPEND body "    };\n    auto it = files.find(name);\n    return it == files.end() ? std::string_view{} : it->second;\n}\n}  // namespace rapport::daemon\n")
file(WRITE ${OUT} "${body}")
