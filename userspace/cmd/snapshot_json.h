// `inotrace snapshot --json` (docs/JSON.md): the document written while it is produced, row by
// row, never built whole. As one nlohmann document it took ~3.4 KB of heap per watch and most of
// the command's time; the bytes are the same (a unit test holds them equal to such a document).
#pragma once

#include <string>
#include <vector>

#include "output/document_writer.h"
#include "snapshot/aggregate.h"
#include "snapshot/pod_rollup.h"
#include "snapshot/snapshot.h"

namespace inotrace {

// What the document shows besides the snapshot's own instances, watches and warnings.
struct SnapshotJsonParts {
  std::string taken_at;  // RFC 3339
  double duration_ms = 0;
  std::vector<UserRow> users;
  std::vector<ProcessRow> processes;  // in the order, and as many as, to show
  std::vector<PodRow> pods;
};

// Writes the document and its final newline, and flushes. Throws Error if the output fails.
void write_snapshot_json(const Snapshot& snap, const SnapshotJsonParts& parts, DocumentWriter& out);

}  // namespace inotrace
