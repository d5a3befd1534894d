// End to end over real processes: a killed word count's retained checkpoints (level, incremental) are inspected offline and restored into a changed job: uids matched as for savepoints, a changed input file warned about.
import { retainedCheckpointCase } from '../helpers/retained-checkpoint-case.ts';

retainedCheckpointCase('level');
