// tap's reporter for floe's specs: what `terse` shows — test output, failures with their details, one
// summary — but the summary is drawn once, at the end, unless stdout is a terminal. Ink redraws a live
// summary after every assertion; in a log or CI every redraw stays (thousands of lines for npm test).
// Plain JS: tap loads its reporter in the runner process, which has no TypeScript loader.
import { Box } from 'ink';
import React from 'react';
import { Log, ResultDetailList, SuiteSummary } from '@tapjs/reporter/components';
import { useIsDone } from '@tapjs/reporter/hooks';

const failed = ({ counts, parser }) => !!counts.fail || !!counts.todo || !parser.ok;

export default function SummaryReporter({ test, config }) {
  const done = useIsDone(test);
  return React.createElement(
    Box,
    { flexDirection: 'column' },
    React.createElement(Log, { test, config }),
    React.createElement(ResultDetailList, { test, filter: failed }),
    // mounted from the start, or it misses the counts; hidden, an unchanged frame is never redrawn
    React.createElement(Box, { display: done || process.stdout.isTTY ? 'flex' : 'none' }, React.createElement(SuiteSummary, { test })),
  );
}
