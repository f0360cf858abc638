# cmake/Catalogues.cmake - gettext catalogues compiled into a target.
#
#   include(Catalogues)
#   rapport_catalogues(TARGET rapport_policies DOMAIN coach
#                      PO_DIR ${CMAKE_CURRENT_SOURCE_DIR}/po
#                      NAMESPACE rapport::policies FUNCTION coach_catalogue)
#
# Each PO_DIR/<lang>.po is compiled with `msgfmt --check` (the header, the
# plural forms and, for entries flagged python-brace-format, the {name}
# placeholders are checked; a broken catalogue fails the build) into
# <build>/po/DOMAIN/<lang>.mo, and the .mo files are compiled into TARGET
# (cmake/embed_catalogues.cmake) as
#   std::string_view NAMESPACE::FUNCTION(std::string_view lang)  // the .mo's bytes, empty: none
#   std::vector<std::string> NAMESPACE::FUNCTION_languages()     // the languages, sorted
# so the binaries need no data directory at run time. msgfmt leaves fuzzy
# and untranslated entries out; tests/i18n/catalogues_test.py sees them as
# missing. English is the source language and has no catalogue.

find_program(RAPPORT_MSGFMT msgfmt)
if(NOT RAPPORT_MSGFMT)
  message(FATAL_ERROR "msgfmt not found: install gettext (scripts/deps.sh does)")
endif()

function(rapport_catalogues)
  cmake_parse_arguments(C "" "TARGET;DOMAIN;PO_DIR;NAMESPACE;FUNCTION" "" ${ARGN})
  file(GLOB pos CONFIGURE_DEPENDS ${C_PO_DIR}/*.po)
  list(SORT pos)
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/po/${C_DOMAIN})
  set(mos)
  foreach(po ${pos})
    get_filename_component(lang ${po} NAME_WE)
    set(mo ${out_dir}/${lang}.mo)
    add_custom_command(
      OUTPUT ${mo}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
      COMMAND ${RAPPORT_MSGFMT} --check --output-file=${mo} ${po}
      DEPENDS ${po}
      COMMENT "msgfmt ${C_DOMAIN}/${lang}.po"
      VERBATIM)
    list(APPEND mos ${mo})
  endforeach()
  string(REPLACE ";" "|" mo_list "${mos}")
  set(cc ${CMAKE_CURRENT_BINARY_DIR}/${C_DOMAIN}_catalogues.cc)
  add_custom_command(
    OUTPUT ${cc}
    COMMAND ${CMAKE_COMMAND} -DOUT=${cc} -DNAMESPACE=${C_NAMESPACE} -DFUNCTION=${C_FUNCTION} -DMOS=${mo_list}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_catalogues.cmake
    DEPENDS ${mos} ${PROJECT_SOURCE_DIR}/cmake/embed_catalogues.cmake
    COMMENT "Embedding the ${C_DOMAIN} catalogues"
    VERBATIM)
  target_sources(${C_TARGET} PRIVATE ${cc})
endfunction()
