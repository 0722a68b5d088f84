import { describe, expect, it } from 'vitest';
import {
	entrypointArtifactsOf,
	isProblem,
	lineOfPath,
	parametersOf,
	podTemplatesOf,
	parseArgoDocument,
	pathInMessage,
	refusalLine,
	splitPath,
	withParameters,
	type ParsedDocument
} from './documents';

const TEMPLATE = `apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: probe
spec:
  entrypoint: main
  arguments:
    parameters:
      - name: size
        value: "10"
        description: rows to make
      - name: mode
        enum: [fast, slow]
  templates:
    - name: main
      container:
        image: busybox
        securityContext:
          privileged: true
  volumes:
    - name: host
      hostPath:
        path: /
`;

function parsed(text: string): ParsedDocument {
	const result = parseArgoDocument(text);
	if (isProblem(result)) throw new Error(result.message);
	return result;
}

describe('parseArgoDocument', () => {
	it('keeps the value and says a YAML error at its line', () => {
		expect(parsed(TEMPLATE).value.kind).toBe('WorkflowTemplate');
		const broken = parseArgoDocument('kind: Workflow\nspec:\n  a: [1, 2\n  b: 3\n');
		expect(isProblem(broken) && broken.line).toBeGreaterThanOrEqual(3);
		expect(parseArgoDocument('- a\n- b\n')).toEqual({ message: expect.stringMatching(/not a mapping/), line: 1 });
	});
});

describe('paths to lines', () => {
	it('finds the path a refusal names', () => {
		const said =
			'workflow policy: spec.templates[0].container.securityContext.privileged: must be false';
		expect(pathInMessage(said)).toBe('spec.templates[0].container.securityContext.privileged');
		expect(splitPath('spec.volumes[0].hostPath')).toEqual(['spec', 'volumes', 0, 'hostPath']);
		expect(pathInMessage('nothing here')).toBeNull();
	});
	it('maps a path to the line of its field, or of its nearest ancestor', () => {
		const document = parsed(TEMPLATE);
		const line = (path: string) => lineOfPath(document, splitPath(path));
		const lineOf = (text: string) => TEMPLATE.split('\n').findIndex((l) => l.includes(text)) + 1;
		expect(line('spec.templates[0].container.securityContext.privileged')).toBe(lineOf('privileged: true'));
		expect(line('spec.volumes[0].hostPath')).toBe(lineOf('hostPath:'));
		expect(line('spec.templates[0].container.resources.limits')).toBe(lineOf('container:'));
		expect(refusalLine(document, 'workflow policy: spec.volumes[0].hostPath: not allowed')).toBe(
			lineOf('hostPath:')
		);
		expect(refusalLine(document, 'no path in these words')).toBeNull();
	});
});

describe('parameters', () => {
	it('lists them with defaults, descriptions and choices, and sets values', () => {
		const document = parsed(TEMPLATE).value;
		expect(parametersOf(document)).toEqual([
			{ name: 'size', value: '10', description: 'rows to make', choices: [] },
			{ name: 'mode', value: '', description: '', choices: ['fast', 'slow'] }
		]);
		const set = withParameters(document, { size: '99' });
		expect(parametersOf(set)[0]?.value).toBe('99');
		expect(parametersOf(document)[0]?.value).toBe('10');
		expect(parametersOf({ spec: {} })).toEqual([]);
	});
});

describe('podTemplatesOf', () => {
	it('names the templates that run a pod, not the steps or dag that order them', () => {
		const document = {
			spec: {
				templates: [
					{ name: 'main', dag: { tasks: [] } },
					{ name: 'fetch', container: { image: 'busybox' } },
					{ name: 'sum', script: { image: 'python', source: '' } },
					{ name: 'both', containerSet: { containers: [] } },
					{ container: { image: 'nameless' } }
				]
			}
		};
		expect(podTemplatesOf(document)).toEqual(['fetch', 'sum', 'both']);
		expect(podTemplatesOf(null)).toEqual([]);
		expect(podTemplatesOf({ spec: { templates: 'x' } })).toEqual([]);
	});
});

describe('entrypointArtifactsOf', () => {
	it("names the entrypoint's input artifacts only", () => {
		const document = {
			spec: {
				entrypoint: 'main',
				templates: [
					{ name: 'main', inputs: { artifacts: [{ name: 'data' }, { name: 'model' }, { path: '/x' }] } },
					{ name: 'other', inputs: { artifacts: [{ name: 'not-this' }] } }
				]
			}
		};
		expect(entrypointArtifactsOf(document)).toEqual(['data', 'model']);
	});

	it('is empty without an entrypoint, its template or its artifacts', () => {
		expect(entrypointArtifactsOf({ spec: { templates: [] } })).toEqual([]);
		expect(entrypointArtifactsOf({ spec: { entrypoint: 'x', templates: [{ name: 'y' }] } })).toEqual([]);
		expect(entrypointArtifactsOf({ spec: { entrypoint: 'x', templates: [{ name: 'x', inputs: {} }] } })).toEqual([]);
		expect(entrypointArtifactsOf(null)).toEqual([]);
	});
});
