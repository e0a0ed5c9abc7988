import Testing

/// Every shared-ring suite nests in this one, which runs its tests one at a
/// time: they spawn processes, kill them, and count descriptors and /dev/shm
/// entries, which tests running beside them would disturb.
@Suite(.serialized) enum SharedRingTests {}
