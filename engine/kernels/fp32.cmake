# fp32 kernels: LayerNorm, erf-GELU, tanh, softmax, attention head.
# Included from engine/kernels/CMakeLists.txt (target fastrel_kernels).
target_sources(fastrel_kernels PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/fp32_kernels.cc)
fastrel_simd_sources(fastrel_kernels FLAGS ${FASTREL_AVX2_FLAGS} SOURCES
  ${CMAKE_CURRENT_SOURCE_DIR}/fp32_kernels_avx2.cc)

fastrel_test(fp32_kernels_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fp32_kernels_test.cc
  LIBS fastrel_kernels)
