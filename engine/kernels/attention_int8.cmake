# int8 attention kernels (Q.K^T and P.V with exact int32 accumulation, u8
# probability quantization). Included from engine/kernels/CMakeLists.txt.
target_sources(fastrel_kernels PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/attention_int8.cc)
fastrel_simd_sources(fastrel_kernels FLAGS ${FASTREL_AVX2_FLAGS} SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/attention_int8_avx2.cc)
fastrel_simd_sources(fastrel_kernels FLAGS ${FASTREL_AVX512_FLAGS} SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/attention_int8_vnni.cc
  ${CMAKE_CURRENT_LIST_DIR}/attention_int8_avx512.cc)

# The AVX2 and AVX-512 float helpers must stay bit-identical to their references: no
# contraction of a multiply and an add into an FMA. -O3 vectorizes the
# operand packing loops of both SIMD files.
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/attention_int8_avx2.cc
  TARGET_DIRECTORY fastrel_kernels
  APPEND PROPERTY COMPILE_OPTIONS -ffp-contract=off -O3)
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/attention_int8_avx512.cc
  TARGET_DIRECTORY fastrel_kernels
  APPEND PROPERTY COMPILE_OPTIONS -ffp-contract=off -O3)
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/attention_int8_vnni.cc
  TARGET_DIRECTORY fastrel_kernels
  APPEND PROPERTY COMPILE_OPTIONS -O3)

fastrel_test(attention_int8_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/attention_int8_test.cc
  LIBS fastrel_kernels)
