# Layer check: every #include "..." between the project's layers must point down (or sideways
# within a layer). Run with -DROOT=<tree>; fails (FATAL_ERROR) on an upward include and lists each
# one as file:line. The build runs it on the tree (target check_layers) and ctest runs it on a
# fixture with a deliberate upward include, which must fail.
#
# Layers, lowest first (a folder belongs to the first entry that is a prefix of its path):
#   0 base      sim/base         errors, units, suggestions, CSV, paths
#   1 config    sim/config       config tree, store, schema, embedded presets
#   2 workloads workloads        model zoo, graphs, compression, functional kernels, weights
#   3 engine    sim/engine       SystemC context, engine, TLM memories and links, statistics
#   4 arch      arch             device families (gpu, tpu, cpu) on the engine
#   5 app       sim/run reports validation   experiment runner, predict, numerics, reports
#   6 exe       sim/cli sim/entry            the command line
if(NOT DEFINED ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<tree> -P check_layers.cmake")
endif()
set(layer_dirs sim/base sim/config workloads sim/engine arch sim/run reports validation sim/cli sim/entry)
set(layer_rank 0 1 2 3 4 5 5 5 6 6)

function(rank_of path out)
  set(r -1)
  set(i 0)
  foreach(d ${layer_dirs})
    if(path MATCHES "^${d}/")
      list(GET layer_rank ${i} r)
      break()
    endif()
    math(EXPR i "${i}+1")
  endforeach()
  set(${out} ${r} PARENT_SCOPE)
endfunction()

set(violations "")
set(checked 0)
foreach(d ${layer_dirs})
  file(GLOB_RECURSE srcs RELATIVE ${ROOT} ${ROOT}/${d}/*.h ${ROOT}/${d}/*.hpp ${ROOT}/${d}/*.cpp)
  foreach(src ${srcs})
    rank_of(${src} from)
    file(STRINGS ${ROOT}/${src} lines)
    set(n 0)
    foreach(line IN LISTS lines)
      math(EXPR n "${n}+1")
      if(line MATCHES "^[ \t]*#[ \t]*include[ \t]+\"([^\"]+)\"")
        set(inc ${CMAKE_MATCH_1})
        rank_of(${inc} to)
        if(to GREATER from)
          list(APPEND violations "${src}:${n}: includes ${inc}, a higher layer")
        endif()
        math(EXPR checked "${checked}+1")
      endif()
    endforeach()
  endforeach()
endforeach()
if(violations)
  list(LENGTH violations count)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "layer check: ${count} upward include(s) in ${ROOT}:\n  ${text}\n"
                      "A lower layer may not include a higher one (cmake/check_layers.cmake).")
endif()
message(STATUS "layer check: ${checked} project includes in ${ROOT}, none upward")
