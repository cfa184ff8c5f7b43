# int8 kernels: activation quantization, sparse 4x1 / N:M int8 GEMM, dense
# int8 GEMM (oneDNN), fused epilogues. Included by CMakeLists.txt (OPTIONAL).
target_sources(fastrel_kernels PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/int8_types.cc
  ${CMAKE_CURRENT_LIST_DIR}/quantize.cc
  ${CMAKE_CURRENT_LIST_DIR}/epilogue.cc
  ${CMAKE_CURRENT_LIST_DIR}/sparse_format.cc
  ${CMAKE_CURRENT_LIST_DIR}/sparse_4x1_pairs.cc
  ${CMAKE_CURRENT_LIST_DIR}/sparse_gemm.cc
  ${CMAKE_CURRENT_LIST_DIR}/sparse_ffn.cc
  ${CMAKE_CURRENT_LIST_DIR}/int8_dense.cc)
target_link_libraries(fastrel_kernels PUBLIC absl::strings)
fastrel_simd_sources(fastrel_kernels FLAGS ${FASTREL_AVX2_FLAGS} SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/quantize_avx2.cc
  ${CMAKE_CURRENT_LIST_DIR}/epilogue_avx2.cc
  ${CMAKE_CURRENT_LIST_DIR}/sparse_4x1_avx2.cc
  ${CMAKE_CURRENT_LIST_DIR}/sparse_ffn_avx2.cc
  ${CMAKE_CURRENT_LIST_DIR}/sparse_nm_avx2.cc
  ${CMAKE_CURRENT_LIST_DIR}/int8_dense_avx2.cc)
fastrel_simd_sources(fastrel_kernels FLAGS ${FASTREL_AVX512_FLAGS} SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/epilogue_avx512.cc
  ${CMAKE_CURRENT_LIST_DIR}/quantize_avx512.cc
  ${CMAKE_CURRENT_LIST_DIR}/sparse_vnni.cc
  ${CMAKE_CURRENT_LIST_DIR}/sparse_ffn_vnni.cc)

fastrel_test(int8_kernels_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/quantize_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/epilogue_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/epilogue_avx512_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/sparse_format_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/sparse_gemm_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/sparse_ffn_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/sparse_4x1_pairs_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/int8_dense_test.cc
  LIBS fastrel_kernels)

add_executable(fastrel-kernel-bench ${CMAKE_CURRENT_LIST_DIR}/roofline_bench_main.cc)
target_link_libraries(fastrel-kernel-bench PRIVATE fastrel_kernels
  nlohmann_json::nlohmann_json absl::flags absl::flags_parse absl::str_format)
