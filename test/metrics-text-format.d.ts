/** Types of `parse-prometheus-text-format` (the package ships none): prom2json's output shape. */
declare module 'parse-prometheus-text-format' {
  /** One sample of a family: a value for counters and gauges, buckets for histograms. */
  export interface ParsedSample {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  /** A metric family. */
  export interface ParsedFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: ParsedSample[];
  }
  /** Parses the Prometheus text format. */
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}
