extension TestResponse {
    /// The samples of a Prometheus text body (`Metrics`' endpoint) by series, as a scraper reads
    /// them: `http_requests_total{method="GET",route="/",status="200"}` to its value. Comment
    /// lines (`# TYPE`) and lines that are not a series and a number are left out.
    public var prometheusSamples: [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }
}
