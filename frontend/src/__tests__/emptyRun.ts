// The fold state of a run with no events yet, for the tests of reduceEvents.
export const empty = () => ({
  lastSeq: 0,
  status: null,
  series: { epochs: [], metrics: {}, batchX: [], batchLoss: [] },
  logs: [],
  error: null,
  errorNode: null,
  testMetrics: null,
  progress: null,
});
