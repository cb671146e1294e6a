import Testing

/// Every suite of this target nests in here. They run one after another: the machine may have
/// two cores, and the timeout, backpressure and flood tests measure what a client sees in time,
/// which a neighbouring flood would distort.
@Suite(.serialized) enum HTTPServerTests {}
