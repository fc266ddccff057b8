# scripts/plot_metrics.sh draws valid PNG and SVG figures with every run's series, and rejects
# a file that is not a metrics CSV with a message naming it.
set(_plot_dir ${CMAKE_CURRENT_BINARY_DIR}/plot_out)
add_test(NAME plot.draw
  COMMAND ${CMAKE_COMMAND} -E env bash ${PROJECT_SOURCE_DIR}/scripts/plot_metrics.sh ${_plot_dir}
          ${CMAKE_CURRENT_SOURCE_DIR}/plot/metrics_a.csv=lr_0.001 ${CMAKE_CURRENT_SOURCE_DIR}/plot/metrics_b.csv=lr_0.1)
set_tests_properties(plot.draw PROPERTIES FIXTURES_SETUP plot_out LABELS plot)
add_test(NAME plot.check
  COMMAND ${CMAKE_COMMAND} -DDIR=${_plot_dir} -DLABELS=lr_0.001,lr_0.1 -P ${CMAKE_CURRENT_SOURCE_DIR}/plot/check_plots.cmake)
set_tests_properties(plot.check PROPERTIES FIXTURES_REQUIRED plot_out LABELS plot)
add_test(NAME plot.rejects_bad_header
  COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/plot_metrics.sh ${CMAKE_CURRENT_BINARY_DIR}/plot_bad
          ${CMAKE_CURRENT_SOURCE_DIR}/plot/bad_header.csv)
set_tests_properties(plot.rejects_bad_header PROPERTIES
  PASS_REGULAR_EXPRESSION "bad_header.csv' line 1: expected the header" LABELS plot)
