#include "op_table.h"

namespace fuzz {

const std::vector<OpRow>& OpTable() {
  static const std::vector<OpRow> table = {
#include "schema_table.inc"
  };
  return table;
}

}  // namespace fuzz
