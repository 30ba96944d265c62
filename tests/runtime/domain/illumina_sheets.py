"""Illumina sample sheets written as the instruments and their software write them."""

# bcl2fastq / Illumina Experiment Manager (v1): NovaSeq run, two lanes, dual index, projects.
V1_NOVASEQ = """[Header],,,,,,,,,
IEMFileVersion,5,,,,,,,,
Investigator Name,Core Lab,,,,,,,,
Experiment Name,RUN_2026_11_30_A,,,,,,,,
Date,30/11/2026,,,,,,,,
Workflow,GenerateFASTQ,,,,,,,,
Application,NovaSeq FASTQ Only,,,,,,,,
Instrument Type,NovaSeq,,,,,,,,
Assay,TruSeq DNA PCR-Free,,,,,,,,
Index Adapters,IDT-ILMN TruSeq DNA UD Indexes (96 Indexes),,,,,,,,
Chemistry,Amplicon,,,,,,,,
,,,,,,,,,
[Reads],,,,,,,,,
151,,,,,,,,,
151,,,,,,,,,
,,,,,,,,,
[Settings],,,,,,,,,
Adapter,AGATCGGAAGAGCACACGTCTGAACTCCAGTCA,,,,,,,,
AdapterRead2,AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT,,,,,,,,
,,,,,,,,,
[Data],,,,,,,,,
Lane,Sample_ID,Sample_Name,Sample_Plate,Sample_Well,I7_Index_ID,index,I5_Index_ID,index2,Sample_Project,Description
1,LIB-0001,PAT-1001,Plate1,A01,UDI0001,GAACTGAGCG,UDI0001,TCGTGGAGCG,ONCO-17,
2,LIB-0001,PAT-1001,Plate1,A01,UDI0001,GAACTGAGCG,UDI0001,TCGTGGAGCG,ONCO-17,
1,LIB-0002,PAT-1002,Plate1,B01,UDI0002,AGGTCAGATA,UDI0002,CTACAAGATA,ONCO-17,
2,LIB-0002,PAT-1002,Plate1,B01,UDI0002,AGGTCAGATA,UDI0002,CTACAAGATA,ONCO-17,
"""

# BCL Convert (v2): lanes, overrides, a DRAGEN section and cloud data with project names.
V2_BCLCONVERT = """[Header]
FileFormatVersion,2
RunName,NVX_20261130_LIMS42
InstrumentPlatform,NovaSeqXSeries
InstrumentType,NovaSeqXPlus

[Reads]
Read1Cycles,151
Read2Cycles,151
Index1Cycles,10
Index2Cycles,10

[Sequencing_Settings]
LibraryPrepKitName,IlluminaDNAPCRFree

[BCLConvert_Settings]
SoftwareVersion,4.2.7
OverrideCycles,Y151;I10;I10;Y151
FastqCompressionFormat,gzip

[BCLConvert_Data]
Lane,Sample_ID,Index,Index2
1,S24-0042-T,GAACTGAGCG,TCGTGGAGCG
2,S24-0042-T,GAACTGAGCG,TCGTGGAGCG
1,S24-0042-N,AGGTCAGATA,CTACAAGATA
2,S24-0042-N,AGGTCAGATA,CTACAAGATA

[DragenGermline_Settings]
SoftwareVersion,4.2.7
MapAlignOutFormat,cram

[DragenGermline_Data]
Sample_ID,ReferenceGenomeDir,Patient_ID
S24-0042-T,hg38-alt_masked.cnv.graph.hla.rna-9-r3.0-1,MRN-7731
S24-0042-N,hg38-alt_masked.cnv.graph.hla.rna-9-r3.0-1,MRN-7731

[Cloud_Settings]
GeneratedVersion,1.10.0

[Cloud_Data]
Sample_ID,ProjectName,LibraryName,LibraryPrepKitName,IndexAdapterKitName
S24-0042-T,Tumour-Normal-2026,S24-0042-T_GAACTGAGCG_TCGTGGAGCG,IlluminaDNAPCRFree,IDTDNAUDIndexesSetA
S24-0042-N,Tumour-Normal-2026,S24-0042-N_AGGTCAGATA_CTACAAGATA,IlluminaDNAPCRFree,IDTDNAUDIndexesSetA
"""
