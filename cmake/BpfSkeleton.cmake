# inotrace_bpf_skeleton(<name> <source.bpf.c>)
#
# Compiles a CO-RE BPF program with clang (-target bpf -g -O2, with a depfile so editing any
# included header rebuilds it) and generates <name>.skel.h with `bpftool gen skeleton`.
# Outputs go to ${CMAKE_BINARY_DIR}/bpf; nothing is generated into the source tree.
# Defines the custom target <name>_skel; link the interface library <name>_skel_lib to get the
# include path and the build-order dependency.

find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

set(INOTRACE_BPF_ARCH "x86" CACHE STRING "Architecture of the committed vmlinux.h to build against")
set(INOTRACE_BPF_OUT ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${INOTRACE_BPF_OUT})

function(inotrace_bpf_skeleton name src)
  set(obj ${INOTRACE_BPF_OUT}/${name}.bpf.o)
  set(dep ${INOTRACE_BPF_OUT}/${name}.bpf.d)
  set(skel ${INOTRACE_BPF_OUT}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${INOTRACE_BPF_ARCH}
            -Wall -Wno-unused-function -Werror
            -I${PROJECT_SOURCE_DIR}/vmlinux/${INOTRACE_BPF_ARCH}
            -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/bpf
            -MD -MF ${dep} -MT ${obj}
            -c ${src} -o ${obj}
    DEPENDS ${src}
    DEPFILE ${dep}
    COMMENT "BPF ${name}: clang -target bpf"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "BPF ${name}: bpftool gen skeleton"
    VERBATIM)
  add_custom_target(${name}_skel DEPENDS ${skel})
  add_library(${name}_skel_lib INTERFACE)
  target_include_directories(${name}_skel_lib INTERFACE ${INOTRACE_BPF_OUT})
  add_dependencies(${name}_skel_lib ${name}_skel)
endfunction()
