# int8 attention kernels (Q.K^T and P.V with exact int32 accumulation, u8
# probability quantization). Included from engine/kernels/CMakeLists.txt.
target_sources(fastrel_kernels PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/attention_int8.cc)
fastrel_simd_sources(fastrel_kernels FLAGS ${FASTREL_AVX2_FLAGS} SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/attention_int8_avx2.cc)
fastrel_simd_sources(fastrel_kernels FLAGS ${FASTREL_AVX512_FLAGS} SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/attention_int8_vnni.cc)

fastrel_test(attention_int8_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/attention_int8_test.cc
  LIBS fastrel_kernels)
