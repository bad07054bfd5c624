# SPDX-License-Identifier: GPL-2.0-only
# bm_bpf_object(NAME SOURCE): compile SOURCE with clang -target bpf, link it
# with `bpftool gen object` (BTF dedup), generate NAME.skel.h with
# `bpftool gen skeleton`, and provide the INTERFACE target NAME_skel whose
# include directory holds the skeleton. NAME.bpf.o lands in ${BM_BPF_OBJ_DIR}.
find_program(BM_CLANG NAMES clang clang-14 REQUIRED)
find_program(BM_BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

execute_process(COMMAND uname -m OUTPUT_VARIABLE BM_UNAME_M OUTPUT_STRIP_TRAILING_WHITESPACE)
if(BM_UNAME_M STREQUAL "x86_64")
  set(BM_BPF_ARCH x86)
elseif(BM_UNAME_M STREQUAL "aarch64")
  set(BM_BPF_ARCH arm64)
else()
  set(BM_BPF_ARCH ${BM_UNAME_M})
endif()
# <asm/types.h> lives under the multiarch include directory on Debian.
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
                OUTPUT_VARIABLE BM_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE)

set(BM_BPF_OBJ_DIR ${CMAKE_BINARY_DIR}/bpf-obj)
file(MAKE_DIRECTORY ${BM_BPF_OBJ_DIR})

function(bm_bpf_object name src)
  set(tmp ${BM_BPF_OBJ_DIR}/${name}.tmp.o)
  set(obj ${BM_BPF_OBJ_DIR}/${name}.bpf.o)
  set(skel_dir ${CMAKE_CURRENT_BINARY_DIR}/skel)
  set(skel ${skel_dir}/${name}.skel.h)
  file(GLOB_RECURSE bpf_headers ${PROJECT_SOURCE_DIR}/bpf/*.h)
  add_custom_command(
    OUTPUT ${obj} ${skel}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${skel_dir}
    COMMAND ${BM_CLANG} -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_${BM_BPF_ARCH}
            -Wall -Werror -Wextra -Wno-unused-parameter
            $<$<BOOL:${BM_BPF_DEBUG}>:-DBM_DEBUG>
            -I${PROJECT_SOURCE_DIR}/bpf -I/usr/include/${BM_MULTIARCH}
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${src} -o ${tmp}
    COMMAND ${BM_BPFTOOL} gen object ${obj} ${tmp}
    COMMAND ${BM_BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${src} ${bpf_headers}
    COMMENT "BPF ${name}"
    VERBATIM)
  add_custom_target(${name}_gen DEPENDS ${obj} ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_gen)
  target_include_directories(${name}_skel INTERFACE ${skel_dir})
endfunction()
