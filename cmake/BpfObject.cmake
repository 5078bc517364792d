# bpf_object(<name> <source.bpf.c> [DEPENDS <header>...])
#
# Compiles a BPF program with clang, strips its DWARF (BTF stays: CO-RE needs it), generates
# the libbpf skeleton with `bpftool gen skeleton`, and exposes it as the INTERFACE target
# <name>_skel, whose include directory holds <name>.skel.h.  Kernel types come from the small
# CO-RE definitions in collector/kernel.bpf.h, relocated at load time against the running
# kernel's BTF, so the build does not depend on the build host's /sys/kernel/btf/vmlinux.

find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPF_STRIP NAMES llvm-strip llvm-strip-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  message(FATAL_ERROR "hotloop: unsupported architecture ${CMAKE_SYSTEM_PROCESSOR}")
endif()

function(bpf_object name source)
  cmake_parse_arguments(BPF "" "" "DEPENDS" ${ARGN})
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/bpf)
  set(obj ${out_dir}/${name}.bpf.o)
  set(skel ${out_dir}/${name}.skel.h)
  get_filename_component(src_abs ${source} ABSOLUTE)
  get_filename_component(src_dir ${src_abs} DIRECTORY)
  file(MAKE_DIRECTORY ${out_dir})
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPF_CLANG} -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH}
            -I${src_dir} -I/usr/include/${CMAKE_LIBRARY_ARCHITECTURE}
            -c ${src_abs} -o ${obj}.tmp
    COMMAND ${BPF_STRIP} -g ${obj}.tmp -o ${obj}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${src_abs} ${BPF_DEPENDS}
    COMMENT "BPF ${name}: clang, strip, bpftool gen skeleton"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${out_dir})
endfunction()
