// The sweep spec parser accepts KEY=V1,V2,... and rejects everything else with a clear message.
#include <doctest/doctest.h>

#include <ctnn/train/sweep.hpp>

using namespace ctnn::train;

namespace {
const std::map<std::string, SweepValueCheck> keys{
    {"lr", check_positive_number},
    {"batch-size", check_positive_integer},
    {"weight-decay", check_non_negative_number},
    {"optimizer", check_one_of({"sgd", "adam", "adamw"})},
};
}

TEST_CASE("sweep: a valid spec gives the key and its values in order") {
  const auto s = parse_sweep("lr=0.1,0.01,0.001", keys);
  CHECK(s.key == "lr");
  CHECK(s.values == std::vector<std::string>{"0.1", "0.01", "0.001"});
  CHECK(parse_sweep("optimizer=sgd,adamw", keys).values.size() == 2);
  CHECK(parse_sweep("weight-decay=0,5e-4", keys).values[1] == "5e-4");
}

TEST_CASE("sweep: bad specs are rejected with a message that says what was expected") {
  CHECK_THROWS_WITH(parse_sweep("lr", keys), doctest::Contains("expected KEY=V1,V2,... with KEY one of"));
  CHECK_THROWS_WITH(parse_sweep("=0.1,0.2", keys), doctest::Contains("expected KEY=V1,V2"));
  CHECK_THROWS_WITH(parse_sweep("momentum=0.9,0.5", keys), doctest::Contains("unknown key 'momentum'; expected one of"));
  CHECK_THROWS_WITH(parse_sweep("lr=0.1,,0.01", keys), doctest::Contains("empty value at position 2"));
  CHECK_THROWS_WITH(parse_sweep("lr=0.1,", keys), doctest::Contains("empty value at position 2"));
  CHECK_THROWS_WITH(parse_sweep("lr=0.1,-1", keys), doctest::Contains("lr value '-1' must be a number greater than 0"));
  CHECK_THROWS_WITH(parse_sweep("lr=0.1,1e-3x", keys), doctest::Contains("must be a number greater than 0"));
  CHECK_THROWS_WITH(parse_sweep("batch-size=32,12.5", keys), doctest::Contains("must be a whole number"));
  CHECK_THROWS_WITH(parse_sweep("optimizer=adam,rmsprop", keys), doctest::Contains("must be one of sgd, adam, adamw"));
  CHECK_THROWS_WITH(parse_sweep("lr=0.1,0.1", keys), doctest::Contains("'0.1' is given twice"));
  CHECK_THROWS_WITH(parse_sweep("lr=0.1", keys), doctest::Contains("at least two values"));
}
