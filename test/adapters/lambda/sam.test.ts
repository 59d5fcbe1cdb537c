// biome-ignore-all lint/suspicious/noTemplateCurlyInString: justfn.yaml's ${VAR} and CloudFormation's Fn::Sub syntax, not JS.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAYER_PARAMETER, toSamTemplate } from '../../../adapters/lambda/sam.js';
import { validateSamTemplate } from '../../../adapters/lambda/sam-schema.js';
import { readServiceShape } from '../../../adapters/service-shape.js';
import { repoRoot } from '../../helpers/process.js';
import { generate, services, writeService } from '../kubernetes/services.js';

const helloYaml = readFileSync(path.join(repoRoot, 'examples/hello/justfn.yaml'), 'utf8');
const ECR_HELLO = '123456789012.dkr.ecr.us-east-1.amazonaws.com/hello:1';

describe('--target lambda: an AWS SAM template', () => {
  it('examples/hello in ECR: the image, memory, timeout, architecture, an HTTP API and its URL', () => {
    const { file, docs } = generate(helloYaml, 'lambda', ECR_HELLO);
    expect(file.warnings).toEqual([]);
    expect(file.name).toBe('template.yaml');
    expect(file.text).toContain('AWSTemplateFormatVersion: "2010-09-09"');
    const [template] = docs;
    expect(template!.Transform).toBe('AWS::Serverless-2016-10-31');
    expect(template!.Parameters).toBeUndefined();
    expect(template!.Resources).toEqual({
      HelloFunction: {
        Type: 'AWS::Serverless::Function',
        Properties: {
          PackageType: 'Image',
          ImageUri: ECR_HELLO,
          Architectures: ['x86_64'],
          MemorySize: 256,
          Timeout: 30,
          Events: { Http: { Type: 'HttpApi' } },
        },
      },
    });
    expect(template!.Outputs.Url.Value).toEqual({
      'Fn::Sub': 'https://${ServerlessHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/',
    });
  });

  it('an image outside Amazon ECR, where Lambda cannot pull it from: the layer instead, and a warning that says so', () => {
    const { file, docs } = generate(helloYaml, 'lambda');
    expect(file.warnings).toEqual([
      expect.stringMatching(/^deploy\.image registry\.example\.com\/hello:1 is not in Amazon ECR.*--image/),
    ]);
    expect(docs[0]!.Resources.HelloFunction.Properties).toMatchObject({
      Runtime: 'provided.al2023',
      Handler: 'index.handler',
      Layers: [{ Ref: LAYER_PARAMETER }],
    });
    expect(docs[0]!.Resources.HelloFunction.Properties.ImageUri).toBeUndefined();
  });

  it('without an image: provided.al2023 with the layer, the code beside justfn.yaml, a REST API for apigw-v1', () => {
    const shape = readServiceShape(writeService(services.legacy));
    const { template, problems } = toSamTemplate(shape, { codeUri: 'functions/legacy' });
    expect(problems).toEqual([]);
    expect(validateSamTemplate(template)).toEqual([]);
    const fn = template.Resources.LegacyApiFunction!.Properties as Record<string, unknown>;
    expect(fn).toMatchObject({
      Runtime: 'provided.al2023',
      Handler: 'index.handler',
      CodeUri: 'functions/legacy',
      Layers: [{ Ref: LAYER_PARAMETER }],
      Architectures: ['x86_64'],
      Timeout: 20,
      Environment: { Variables: { DATABASE_URL: { Ref: 'DatabaseUrl' } } },
      Events: {
        Root: { Type: 'Api', Properties: { Path: '/', Method: 'ANY' } },
        Proxy: { Type: 'Api', Properties: { Path: '/{proxy+}', Method: 'ANY' } },
      },
    });
    expect(fn).not.toHaveProperty('MemorySize');
    expect(template.Parameters?.[LAYER_PARAMETER]).toMatchObject({ Type: 'String' });
    expect(template.Parameters?.DatabaseUrl).toEqual({
      Type: 'String',
      NoEcho: true,
      Description: 'DATABASE_URL, read by justfn.yaml',
    });
  });

  it('every variable is a NoEcho parameter; one with a default may be left empty; arm64 from deploy.lambda', () => {
    const text = services.users.replace(/ {2}ca:\n(.*\n){3}/, '');
    const { docs } = generate(text, 'lambda', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/users:2');
    const [template] = docs;
    expect(template!.Parameters).toEqual({
      DatabasePassword: {
        Type: 'String',
        NoEcho: true,
        Description: 'DATABASE_PASSWORD, read by justfn.yaml',
      },
      BillingOrigin: {
        Type: 'String',
        NoEcho: true,
        Default: '',
        Description: 'BILLING_ORIGIN, read by justfn.yaml',
      },
      AuthTimeout: {
        Type: 'String',
        NoEcho: true,
        Default: '',
        Description: 'AUTH_TIMEOUT, read by justfn.yaml',
      },
    });
    const fn = template!.Resources.UsersFunction.Properties;
    expect(fn.Environment.Variables).toEqual({
      DATABASE_PASSWORD: { Ref: 'DatabasePassword' },
      BILLING_ORIGIN: { Ref: 'BillingOrigin' },
      AUTH_TIMEOUT: { Ref: 'AuthTimeout' },
    });
    expect(fn).toMatchObject({
      ImageUri: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/users:2',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 60,
    });
  });

  it("refuses what Lambda cannot do: gRPC, secret files, more than 900 s; leaves Lambda's own variables to it", () => {
    expect(() => generate(services.greeter, 'lambda')).toThrow(/grpc: Lambda is request\/response/);
    expect(() => generate(services.users, 'lambda')).toThrow(
      /\$\{file:secrets\/partner-token\}: Lambda has no secret files/,
    );
    expect(() => generate('name: slow\ntimeout: 901\ndeploy: { image: r/slow:1 }\n', 'lambda')).toThrow(
      /timeout: Lambda allows at most 900 seconds, got 901/,
    );
    const { docs } = generate(
      'name: region\nresources:\n  a: { kind: http, origin: "https://${AWS_REGION}.example.com" }\n',
      'lambda',
    );
    expect(Object.keys(docs[0]!.Parameters)).toEqual([LAYER_PARAMETER]);
  });

  it('a parameter may not take a logical ID the template gives a resource', () => {
    const yaml = [
      'name: db',
      'resources:',
      '  a: { kind: http, origin: "${DB_FUNCTION}" }',
      '  b: { kind: http, origin: "${DB_FUNCTION_ROLE}" }',
      '  c: { kind: http, origin: "${SERVERLESS_HTTP_API}" }',
      '  d: { kind: http, origin: "${BILLING_ORIGIN}" }',
      'deploy: { image: "r/db:1" }',
      '',
    ].join('\n');
    const { problems } = toSamTemplate(readServiceShape(writeService(yaml)), { codeUri: '.' });
    expect(problems).toEqual([
      '${DB_FUNCTION}: its parameter name DbFunction is a name SAM gives a resource of this template',
      '${DB_FUNCTION_ROLE}: its parameter name DbFunctionRole is a name SAM gives a resource of this template',
      '${SERVERLESS_HTTP_API}: its parameter name ServerlessHttpApi is a name SAM gives a resource of this template',
    ]);
  });

  it('the schema check names a bad property, and every reference must resolve', () => {
    const shape = readServiceShape(writeService(helloYaml));
    const { template } = toSamTemplate(shape, { codeUri: '.' });
    const fn = template.Resources.HelloFunction as { Properties: Record<string, unknown> };
    fn.Properties.MemorySze = 256;
    fn.Properties.Layers = [{ Ref: 'NoSuchLayer' }];
    expect(validateSamTemplate(template)).toEqual([
      'Resources.HelloFunction.Properties: must NOT have additional properties ("MemorySze")',
      'template.Resources.HelloFunction.Properties.Layers[0]: Ref to NoSuchLayer, which is not defined',
    ]);
  });

  it('vendors the SAM schema with its licence and origin', () => {
    const dir = path.join(repoRoot, 'adapters/lambda/schemas');
    const schema = JSON.parse(readFileSync(path.join(dir, 'sam.schema.json'), 'utf8'));
    expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(readFileSync(path.join(dir, 'LICENSE'), 'utf8')).toContain('Apache License');
    expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).toContain('aws/serverless-application-model');
  });
});
